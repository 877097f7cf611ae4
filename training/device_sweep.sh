#!/usr/bin/env bash
# Several decoder-only variants of training/recipe.sh trained side by side on one GPU machine, inside one call:
#
#   bash training/device_sweep.sh PACK OUT "NAME:VAR=VALUE VAR=VALUE" ...
#
# Each NAME runs `STAGES=decoder-only training/recipe.sh` on PACK/train with its variables (SDO, MIX, COND_SKIP,
# REAL, SEED ...) under `timeout $BUDGET` (default 470 s), the cores shared among the variants; OUT/NAME.tar gets
# its latest checkpoint (weights only, `training.run_state slim`), loss curve and log, for
# `python -m training.sample --run DIR --stage none` elsewhere. DEVICE: as in training/device_run.sh.
set -uo pipefail
pack=$(cd "${1:?usage: bash training/device_sweep.sh PACK OUT "NAME:VAR=VALUE ..."}" && pwd)
out=${2:?usage: bash training/device_sweep.sh PACK OUT "NAME:VAR=VALUE ..."}
shift 2
mkdir -p "$out" && out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
py=${PYTHON:-python3}
export FLASHVSR="$py -m vsrcore.cli"
device=${DEVICE:-$($py -c "import torch; print('cuda:0' if torch.cuda.is_available() else 'cpu')")}
workers=$(( $(nproc) / $# > 1 ? $(nproc) / $# - 1 : 1 ))
work=/tmp/device_sweep
rm -rf "$work" && mkdir -p "$work"
for spec in "$@"; do
  name=${spec%%:*}
  vars=()
  [ "$spec" != "$name" ] && read -r -a vars <<<"${spec#*:}"
  echo "[sweep] $name: ${vars[*]:-defaults}; $workers workers"
  (env WORKERS="$workers" VIDEOS="${VIDEOS:-4}" IMAGES="${IMAGES:-8}" REAL="${REAL:-realesrgan}" CKPT="${CKPT:-1000}" \
     STAGES=decoder-only "${vars[@]}" timeout --signal=TERM --kill-after=10 "${BUDGET:-470}" \
     bash training/recipe.sh "$work/$name" "$pack/train" --device "$device" >"$work/$name.log" 2>&1
   echo "[sweep] $name exit $?") &
done
wait
for spec in "$@"; do
  name=${spec%%:*}
  tail -n 2 "$work/$name.log"
  step=$($py -c "import sys; from pathlib import Path; from training.run_state import latest_step
print(latest_step(Path(sys.argv[1])))" "$work/$name/decoder-only/decoder")
  [ "$step" -gt 0 ] || { echo "[sweep] $name: no checkpoint"; continue; }
  $py -m training.run_state slim "$work/$name" "$work/slim-$name" "decoder-only/decoder=$step" >/dev/null \
    && cp "$work/$name.log" "$work/slim-$name/" && tar -cf "$out/$name.tar" -C "$work/slim-$name" . \
    && echo "[sweep] $name: step $step -> $out/$name.tar ($(du -h "$out/$name.tar" | cut -f1))"
done
