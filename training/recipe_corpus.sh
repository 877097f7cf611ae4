#!/usr/bin/env bash
# The corpus recipe (docs/training.md "Corpus recipe"): 3 seeds of training/recipe.sh on the registry corpus's train
# split, the DiT step ablation and the choice of the released run on the validation split only, then one test run.
#
#   training/recipe_corpus.sh OUT CORPUS            # CORPUS: the DATA folder of training.corpus.fetch_sources
#
# Steps (each resumes; a finished step is skipped, so one GPU call of ~20 minutes can run a part and the next
# call continues):  STEPS="train validate ablate select test" (default all).
#   train:    for SEED in $SEEDS (default "0 1 2"): recipe.sh OUT/seed-$SEED CORPUS/shards (stages $STAGES)
#   validate: flashvsr bench on CORPUS/eval/validation for every seed's bundle (bicubic, lanczos, flashvsr-tiny;
#             BI x4 and RealBasicVSR x4; PSNR, SSIM, NIQE)
#   ablate:   on validation, seed 0: the stage-1 teacher with 1 and 4 Euler steps (training.sample) vs the
#             one-step student, all decoded by the run's TCDecoder
#   select:   python -m training.select_run over the validation results -> OUT/selected (a link to the seed run)
#   test:     flashvsr bench on CORPUS/eval/test, once, for every seed (the spread) and the selected one
# Sizes: S0 S1 S2 S3 SD, CKPT, WORKERS as in recipe.sh; FRAMES (bench frames, default first:16); DEVICE.
set -euo pipefail
out=${1:?usage: training/recipe_corpus.sh OUT CORPUS}
corpus=${2:?usage: training/recipe_corpus.sh OUT CORPUS}
here=$(cd "$(dirname "$0")" && pwd)
cmd=${FLASHVSR:-flashvsr}
py=${PYTHON:-python}
read -r -a seeds <<<"${SEEDS:-0 1 2}"
read -r -a steps <<<"${STEPS:-train validate ablate select test}"
frames=${FRAMES:-first:16}
device=(${DEVICE:+--device "$DEVICE"})
metrics=${METRICS:-psnr,ssim,niqe}
mkdir -p "$out"

bench() {  # bench NAME SPLIT BUNDLE_DIR RESULTS [extra args]
  local name=$1 split=$2 weights=$3 results=$4
  shift 4
  $cmd bench --dataset "$split=$corpus/eval/$split" --methods bicubic,lanczos,flashvsr-tiny --metrics "$metrics" \
    --lq bi,realbasicvsr --set frames="$frames" --weights-dir "$weights" -o "$results" --no-leaderboard --quiet \
    "${device[@]}" "$@"
  echo "$name $split done" >>"$out/progress.log"
}

bundle_dir() {  # the weights folder layout flashvsr-tiny is found in: DIR/flashvsr-tiny/flashvsr-tiny.safetensors
  local run=$1
  mkdir -p "$run/weights/flashvsr-tiny"
  cp -f "$run/flashvsr-tiny.safetensors" "$run/weights/flashvsr-tiny/flashvsr-tiny.safetensors"
  echo "$run/weights"
}

for step in "${steps[@]}"; do
  case $step in
    train)
      for s in "${seeds[@]}"; do
        SEED=$s FLASHVSR=$cmd "$here/recipe.sh" "$out/seed-$s" "$corpus/shards"
      done ;;
    validate)
      for s in "${seeds[@]}"; do
        bench "seed-$s" validation "$(bundle_dir "$out/seed-$s")" "$out/seed-$s/validation"
      done ;;
    ablate)
      run=$out/seed-${seeds[0]}
      $cmd bench --dataset "validation=$corpus/eval/validation" --methods bicubic --metrics "$metrics" \
        --lq bi,realbasicvsr --set frames="$frames" -o "$run/ablation" --no-leaderboard --quiet "${device[@]}" \
        --command-method "teacher-1=$py -m training.sample --run $run --stage 1 --steps 1 {input} {output}" \
        --command-method "teacher-4=$py -m training.sample --run $run --stage 1 --steps 4 {input} {output}" \
        --command-method "student-1=$py -m training.sample --run $run --stage 3 --steps 1 {input} {output}"
      echo "ablation done" >>"$out/progress.log" ;;
    select)
      results=()
      for s in "${seeds[@]}"; do results+=("$out/seed-$s/validation"); done
      $py -m training.select_run "${results[@]}" | tee "$out/selection.txt"
      chosen=$(sed -n 's/^selected: //p' "$out/selection.txt")
      ln -sfn "$(cd "$(dirname "$chosen")" && pwd)" "$out/selected" ;;
    test)
      for s in "${seeds[@]}"; do
        [ -e "$out/seed-$s/test" ] || bench "seed-$s" test "$out/seed-$s/weights" "$out/seed-$s/test"
      done ;;
    *) echo "unknown step '$step' (train validate ablate select test)" >&2; exit 2 ;;
  esac
done
