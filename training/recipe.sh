#!/usr/bin/env bash
# The recipe that trains the bundled flashvsr-tiny (docs/training.md, model/flashvsr/bundled/MODEL_CARD.md).
#
#   training/recipe.sh RUN_DIR DATA...      # stages: $STAGES (default "0 1 2 3 decoder export")
#
# DATA: `flashvsr curate ... --preset samples` outputs (the held-out samples are in their val split, which
# training never reads), the corpus's DATA/shards, or a pack's train/ folder (training.corpus.pack). Step counts:
# S0 S1 S2 S3 SD; CKPT: checkpoint interval (default: the end of a stage). FLASHVSR: the command (default
# `flashvsr`; without the console script: `python -m vsrcore.cli`). WORKERS: DataLoader workers. Re-running
# resumes each stage from its latest checkpoint. The decoder stage widens the TCDecoder, adds its full-resolution
# branch and trains on 1 real-world : 7 bicubic with source rescaling. REAL: the real-world degradation preset
# (default realbasicvsr; realesrgan needs no PyAV). VIDEOS / IMAGES: clips / photos per step (default 2 / 4; stages
# 2 and 3 take videos only). MIX: the decoder stages' degradation list, drawn uniformly (default REAL once and
# bicubic seven times); COND_SKIP: the width of their full-resolution branch (default 32). PAIRS / PAIR_SHARE: a folder of
# stored pairs (python -m training.make_pairs, e.g. RealBasicVSR made where PyAV is) drawn for that share (default
# 0.5) of the decoder stages' samples. Stage "decoder-only": the ablation, the same decoder stage on zero latents (no DiT,
# no student), into RUN_DIR/decoder-only/decoder; SDO steps (default SD).
set -euo pipefail
run=${1:?usage: training/recipe.sh RUN_DIR DATA...}
shift
read -r -a stages <<<"${STAGES:-0 1 2 3 decoder export}"
cmd=${FLASHVSR:-flashvsr}
real=${REAL:-realbasicvsr}
videos=${VIDEOS:-2}
images=${IMAGES:-4}
common=(--data "$@" --split train --preset flashvsr-tiny --crop 128 --workers "${WORKERS:-8}"
        --degradation "$real,bicubic" --target source --seed "${SEED:-0}" --resume --log-every 50)
decoder=(--latents 2 --videos "$videos" --images "$images" --lr 5e-4 --warmup 100 --lr-schedule cosine
         --set full_weight=0 --set 'model.tc_channels=[128,64,32,32]' --set model.tc_cond_skip=${COND_SKIP:-32} --rescale 0.5,2
         --degradation "${MIX:-$real,bicubic,bicubic,bicubic,bicubic,bicubic,bicubic,bicubic}")
[ -n "${PAIRS:-}" ] && decoder+=(--pairs "$PAIRS" --pair-share "${PAIR_SHARE:-0.5}")

for stage in "${stages[@]}"; do
  case $stage in
    0) $cmd train --stage 0 "${common[@]}" --out "$run" --steps "${S0:-3000}" --ckpt-every "${CKPT:-${S0:-3000}}" \
         --latents 2 --videos "$videos" --images "$images" --lr 3e-4 --warmup 100 ;;
    1) $cmd train --stage 1 "${common[@]}" --out "$run" --steps "${S1:-2000}" --ckpt-every "${CKPT:-${S1:-2000}}" \
         --latents 2 --videos "$videos" --images "$images" --lr 2e-4 --warmup 100 ;;
    2) $cmd train --stage 2 "${common[@]}" --out "$run" --steps "${S2:-800}" --ckpt-every "${CKPT:-${S2:-800}}" \
         --latents 4 --videos "$videos" --lr 1e-4 ;;
    3) $cmd train --stage 3 "${common[@]}" --out "$run" --steps "${S3:-600}" --ckpt-every "${CKPT:-${S3:-600}}" \
         --latents 4 --videos "$videos" --lr 5e-5 ;;
    decoder) $cmd train --stage decoder "${common[@]}" --out "$run" --steps "${SD:-3000}" \
         --ckpt-every "${CKPT:-${SD:-3000}}" "${decoder[@]}" --set 'decoder_latents="student"' ;;
    decoder-only) $cmd train --stage decoder "${common[@]}" --out "$run/decoder-only" --steps "${SDO:-${SD:-3000}}" \
         --ckpt-every "${CKPT:-${SDO:-${SD:-3000}}}" "${decoder[@]}" --set 'decoder_latents="zero"' ;;
    export) $cmd train --stage export -o "$run" --half --tiny-only ;;
    *) echo "unknown stage '$stage' (0 1 2 3 decoder decoder-only export)" >&2; exit 2 ;;
  esac
done
