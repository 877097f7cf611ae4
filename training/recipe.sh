#!/usr/bin/env bash
# The recipe that trains the bundled flashvsr-tiny (docs/training.md, model/flashvsr/bundled/MODEL_CARD.md).
#
#   training/recipe.sh RUN_DIR SHARDS...        # stages: $STAGES (default "0 1 2 3 decoder export")
#
# SHARDS: `flashvsr curate ... --preset samples` outputs (the held-out samples are in their val split, which
# training never reads). Step counts: S0 S1 S2 S3 SD; CKPT: checkpoint interval (default: the end of a stage).
# FLASHVSR: the command (default `flashvsr`; without the console script: `python -m vsrcore.cli`). WORKERS:
# DataLoader workers. Re-running resumes each stage from its latest checkpoint. The decoder stage widens the
# TCDecoder, adds its full-resolution branch and trains on 1 realbasicvsr : 7 bicubic with source rescaling.
set -euo pipefail
run=${1:?usage: training/recipe.sh RUN_DIR SHARDS...}
shift
read -r -a stages <<<"${STAGES:-0 1 2 3 decoder export}"
cmd=${FLASHVSR:-flashvsr}
common=(--data "$@" --split train --out "$run" --preset flashvsr-tiny --crop 128 --workers "${WORKERS:-8}"
        --degradation realbasicvsr,bicubic --target source --seed "${SEED:-0}" --resume --log-every 50)

for stage in "${stages[@]}"; do
  case $stage in
    0) $cmd train --stage 0 "${common[@]}" --steps "${S0:-3000}" --ckpt-every "${CKPT:-${S0:-3000}}" --latents 2 \
         --videos 2 --images 4 --lr 3e-4 --warmup 100 ;;
    1) $cmd train --stage 1 "${common[@]}" --steps "${S1:-2000}" --ckpt-every "${CKPT:-${S1:-2000}}" --latents 2 \
         --videos 2 --images 4 --lr 2e-4 --warmup 100 ;;
    2) $cmd train --stage 2 "${common[@]}" --steps "${S2:-800}" --ckpt-every "${CKPT:-${S2:-800}}" --latents 4 \
         --videos 2 --lr 1e-4 ;;
    3) $cmd train --stage 3 "${common[@]}" --steps "${S3:-600}" --ckpt-every "${CKPT:-${S3:-600}}" --latents 4 \
         --videos 2 --lr 5e-5 ;;
    decoder) $cmd train --stage decoder "${common[@]}" --steps "${SD:-3000}" --ckpt-every "${CKPT:-${SD:-3000}}" \
         --latents 2 --videos 2 --images 4 --lr 5e-4 --warmup 100 --lr-schedule cosine \
         --set 'decoder_latents="student"' --set full_weight=0 \
         --set 'model.tc_channels=[128,64,32,32]' --set model.tc_cond_skip=32 --rescale 0.5,2 \
         --degradation realbasicvsr,bicubic,bicubic,bicubic,bicubic,bicubic,bicubic,bicubic ;;
    export) $cmd train --stage export -o "$run" --half --tiny-only ;;
    *) echo "unknown stage '$stage' (0 1 2 3 decoder export)" >&2; exit 2 ;;
  esac
done
