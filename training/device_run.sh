#!/usr/bin/env bash
# One seed of training/recipe.sh on a GPU machine from a pack (python -m training.corpus.pack), inside a time
# budget: train, export the bundle, score it on the pack's validation split (docs/training.md "GPU runs from a pack").
#
#   bash training/device_run.sh PACK OUT [STATE]
#
# PACK: the pack folder (e.g. .pack). OUT: results, at most 8 files (the device tool's limit): flashvsr-tiny.safetensors,
# metrics.md, results.tar.gz (bench records, loss curves, checkpoint metadata), device_run.log and state.tar.partNN
# (the run's latest checkpoints, in parts of 15 MiB). STATE: a folder holding an earlier call's state.tar.part*
# files (carried): the run continues from them (every stage resumes from its latest checkpoint; finished ones are
# skipped).
#
# Environment: BUDGET (seconds for the whole script, default 480; a stage still running when the training share
# is used up is stopped and resumes from its last checkpoint in the next call), S0 S1 S2 S3 SD SDO (steps; defaults
# below fit one H100 call), CKPT (checkpoint interval, default 100), SEED (0), WORKERS (default: cores - 2),
# VIDEOS / IMAGES (per step, default 4 / 8), DEVICE (default cuda when present), REAL (real-world training
# degradation: realbasicvsr when PyAV imports, else realesrgan), STAGES (default "0 1 2 3 decoder decoder-only"),
# ABLATE (validation items in the decoder-only vs DiT + decoder comparison, default 8; 0 = off), RESERVE (seconds
# kept for export, bench and ablation: default 140, 75 without the ablation). Timings: docs/training.md.
# Wheels: *.whl in .whl/ at the repository root (carried) are installed into /tmp/site first.
set -uo pipefail
pack=$(cd "${1:?usage: bash training/device_run.sh PACK OUT [STATE]}" && pwd)
out=${2:?usage: bash training/device_run.sh PACK OUT [STATE]}
state=${3:-}
mkdir -p "$out"
out=$(cd "$out" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
t0=$(date +%s)
budget=${BUDGET:-480}
exec > >(tee -a "$out/device_run.log") 2>&1
elapsed() { echo $(($(date +%s) - t0)); }
say() { echo "[device_run $(elapsed)s] $*"; }

export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { say "wheel install failed"; exit 2; }
  export PYTHONPATH=/tmp/site:$repo${PYTHONPATH:+:$PYTHONPATH}
else
  export PYTHONPATH=$repo${PYTHONPATH:+:$PYTHONPATH}
fi
py=${PYTHON:-python3}
export FLASHVSR="$py -m vsrcore.cli"
if [ -z "${REAL:-}" ]; then
  if $py -c "import av" 2>/dev/null; then REAL=realbasicvsr; else REAL=realesrgan; fi
fi
export REAL
device=${DEVICE:-$($py -c "import torch; print('cuda:0' if torch.cuda.is_available() else 'cpu')")}
cores=$(nproc)
export WORKERS=${WORKERS:-$((cores > 3 ? cores - 2 : 1))}
export VIDEOS=${VIDEOS:-4} IMAGES=${IMAGES:-8} SEED=${SEED:-0} CKPT=${CKPT:-100}
export S0=${S0:-200} S1=${S1:-180} S2=${S2:-60} S3=${S3:-60} SD=${SD:-300} SDO=${SDO:-300}
read -r -a stages <<<"${STAGES:-0 1 2 3 decoder decoder-only}"
say "device $device ($($py -c "import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')")), torch $($py -c 'import torch; print(torch.__version__)'), $cores cores, $WORKERS workers; real-world degradation: $REAL; budget ${budget}s"
say "steps: S0=$S0 S1=$S1 S2=$S2 S3=$S3 SD=$SD SDO=$SDO; batch: $VIDEOS clips + $IMAGES photos; seed $SEED; git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

# the pack is what it says it is
(cd "$pack" && sha256sum -c --quiet SHA256SUMS) || { say "pack $pack fails its SHA256SUMS"; exit 2; }

work=/tmp/device_run
run=$work/run
rm -rf "$work"  # a warm machine keeps /tmp between calls: only the STATE argument carries a run on
mkdir -p "$run"
if [ -n "$state" ]; then
  cat "$state"/state.tar.part* | tar -x -C "$run" || { say "cannot unpack the state in $state"; exit 2; }
  say "resumed from $state: $(cd "$run" && ls -d stage* decoder decoder-only 2>/dev/null | tr '\n' ' ')"
fi

# --- training: each stage under the time left, reserving time for export and evaluation ---
ablate=${ABLATE:-8}
reserve=${RESERVE:-$([ "$ablate" = 0 ] && echo 75 || echo 140)}  # export + bench (+ ablation), measured on an H100
declare -A dir=([0]=stage0 [1]=stage1 [2]=stage2 [3]=stage3 [decoder]=decoder [decoder-only]=decoder-only/decoder)
declare -A steps=([0]=$S0 [1]=$S1 [2]=$S2 [3]=$S3 [decoder]=$SD [decoder-only]=$SDO)
complete=1
chain=(0 1 2 3)  # a finished stage makes the earlier ones unnecessary (they are not carried past it)
for ((i = ${#chain[@]} - 1; i >= 0; i--)); do
  s=${chain[$i]}
  if $py -m training.run_state done "$run/${dir[$s]}" "${steps[$s]}"; then finished_upto=$i; break; fi
done
for stage in "${stages[@]}"; do
  if $py -m training.run_state done "$run/${dir[$stage]}" "${steps[$stage]}"; then
    say "stage $stage: already at step ${steps[$stage]} (carried)"; continue
  fi
  if [[ $stage =~ ^[0-3]$ ]] && [ "$stage" -le "${finished_upto:--1}" ]; then
    say "stage $stage: not needed (stage ${chain[$finished_upto]} is finished)"; continue
  fi
  left=$((budget - reserve - $(elapsed)))
  if [ "$left" -lt 20 ]; then
    say "no time left for stage $stage (run again with the state)"; complete=0; break
  fi
  say "stage $stage: up to ${left}s"
  STAGES=$stage timeout --signal=TERM --kill-after=10 "$left" bash training/recipe.sh "$run" "$pack/train" \
    --device "$device"
  rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    say "stage $stage stopped at its time limit (resumes from its last checkpoint)"; complete=0; break
  elif [ $rc -ne 0 ]; then
    say "stage $stage failed (exit $rc)"; complete=0; break
  fi
  say "stage $stage done"
done

# --- the state for a next call: what the remaining stages, the export and the ablation need ---
rm -f "$out"/state.tar.part*
carry=()
if $py -m training.run_state done "$run/stage3" "$S3"; then
  for s in 3 decoder decoder-only; do carry+=("${dir[$s]}=${steps[$s]}"); done
else  # before the student exists every earlier stage is needed (stage 0's autoencoder is large)
  for s in 0 1 2 3 decoder decoder-only; do carry+=("${dir[$s]}=${steps[$s]}"); done
fi
rm -rf "$work/state" && mkdir -p "$work/state"
$py -m training.run_state slim "$run" "$work/state" "${carry[@]}" | sed 's/^/  state: /'
if [ -n "$(ls -A "$work/state")" ]; then
  tar -c -C "$work/state" . | split -b 15M -d -a 2 - "$out/state.tar.part"
  say "state: $(du -ch "$out"/state.tar.part* | tail -1 | cut -f1) in $(ls "$out"/state.tar.part* | wc -l) part(s)"
fi

if ! $py -m training.run_state done "$run/decoder" "$SD"; then
  say "no bundle yet (the decoder stage has not finished): run again with the state.tar.part files as STATE"
  exit 3
fi

# --- export and evaluation on the validation split (bench: BI x4 and RealBasicVSR x4, given LQ) ---
STAGES=export bash training/recipe.sh "$run" "$pack/train" --quiet || { say "export failed"; exit 2; }
cp "$run/flashvsr-tiny.safetensors" "$out/flashvsr-tiny.safetensors"
mkdir -p "$work/weights/flashvsr-tiny"
cp "$run/flashvsr-tiny.safetensors" "$work/weights/flashvsr-tiny/"
datasets=()
for lq in bi realbasicvsr; do
  d=$work/val-$lq
  mkdir -p "$d"
  ln -sfn "$pack/validation/gt" "$d/gt"
  ln -sfn "$pack/validation/lq-$lq" "$d/lq"
  datasets+=(--dataset "val-$lq=$d")
done
say "bench on validation: bicubic, lanczos, flashvsr-tiny"
$FLASHVSR bench "${datasets[@]}" --methods bicubic,lanczos,flashvsr-tiny --metrics psnr,ssim \
  --weights-dir "$work/weights" -o "$work/bench" --no-leaderboard --quiet --device "$device" \
  || say "bench exited $? (records written so far are kept)"

if [ "$ablate" -gt 0 ] && $py -m training.run_state done "$run/decoder-only/decoder" "$SDO"; then
  left=$((budget - 15 - $(elapsed)))
  if [ "$left" -gt 20 ]; then
    abl=()
    for lq in bi realbasicvsr; do
      d=$work/abl-$lq
      mkdir -p "$d/gt" "$d/lq"
      for p in $(ls "$pack/validation/gt" | head -n "$ablate"); do
        ln -sfn "$pack/validation/gt/$p" "$d/gt/$p"
        ln -sfn "$pack/validation/lq-$lq/$p" "$d/lq/$p"
      done
      abl+=(--dataset "abl-$lq=$d")
    done
    say "ablation on $ablate validation items: decoder-only vs DiT + decoder (up to ${left}s)"
    timeout "$left" $FLASHVSR bench "${abl[@]}" --methods bicubic,flashvsr-tiny --metrics psnr,ssim \
      --weights-dir "$work/weights" -o "$work/bench-ablation" --no-leaderboard --quiet --device "$device" \
      --command-method "decoder-only=$py -m training.sample --run $run/decoder-only --stage none --device cpu {input} {output}" \
      || say "ablation bench stopped (exit $?); records written so far are kept"
  else
    say "no time left for the ablation"
  fi
fi

results=("$work/bench")
[ -d "$work/bench-ablation" ] && results+=("$work/bench-ablation")
$py -m training.select_run --table "${results[@]}" >"$out/metrics.md" || say "no metrics table (exit $?)"
{
  echo
  echo "device: $device; real-world training degradation: $REAL; steps S0=$S0 S1=$S1 S2=$S2 S3=$S3 SD=$SD SDO=$SDO;"
  echo "batch $VIDEOS clips + $IMAGES photos; seed $SEED; training complete: $complete; wall $(elapsed) s"
} >>"$out/metrics.md"
cat "$out/metrics.md"
(cd "$work" && find bench bench-ablation run \( -path '*/outputs' -prune \) -o \( -path 'bench*' -o -name loss.csv \
  -o -name 'ckpt-*.json' -o -name latest.json \) -type f -print 2>/dev/null | sort | tar -czf "$out/results.tar.gz" -T -)
say "done; $(ls "$out" | wc -l) files in $out"
