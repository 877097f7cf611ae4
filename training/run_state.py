"""Carry a training run from one GPU call to the next in few megabytes (`training/device_run.sh`).

    python -m training.run_state done STAGE_DIR STEPS        # exit 0 when the stage's latest checkpoint is at STEPS
    python -m training.run_state slim RUN DEST STAGE=STEPS...  # DEST: the run's stage folders, slimmed

A finished stage (latest checkpoint at its step target) is carried as its weights only: no optimiser state, no
stage-3 fake score, floating tensors in float16 except the prompt `context`; enough for the later stages, the
export and `training.sample`, not for training that stage further. An unfinished stage is not carried (its whole
checkpoint, optimiser included, is 40-160 MB: more than a call can carry beside the pack); it restarts.
`latest.json`, the checkpoint's `.json` (marked `"slim": true`) and `loss.csv` go along.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


DROPPED = ("optim.", "fake_dit.", "fake_lq.")  # resumable-training state only


def latest_step(stage_dir: Path) -> int:
    """The step of the stage's latest checkpoint (0 when it has none)."""
    pointer = stage_dir / "latest.json"
    return int(json.loads(pointer.read_text())["step"]) if pointer.exists() else 0


def slim_checkpoint(src: Path, dst: Path) -> None:
    """Write `dst` (+ its .json): `src`'s weights without the training-only tensors, float16 but `context`."""
    import torch
    from safetensors.torch import load_file, save_file

    tensors = {
        k: (v.half() if v.is_floating_point() and k != "context" else v)
        for k, v in load_file(src).items()
        if not k.startswith(DROPPED)
    }
    save_file({k: v.contiguous() for k, v in tensors.items()}, dst)
    meta = json.loads(src.with_suffix(".json").read_text())
    dst.with_suffix(".json").write_text(json.dumps({**meta, "slim": True, "slim_dtype": str(torch.float16)}))


def slim_run(run: Path, dest: Path, targets: dict[str, int]) -> list[str]:
    """Slim copies of the finished stage folders of `run` named in `targets` (relative path -> step target) into
    `dest`; returns one line per stage."""
    lines = []
    for rel, steps in targets.items():
        src = run / rel
        pointer = src / "latest.json"
        if not pointer.exists():
            continue
        step = latest_step(src)
        if step < steps:
            lines.append(f"{rel}: step {step} of {steps}, not carried (restarts)")
            continue
        name = json.loads(pointer.read_text())["checkpoint"]
        out = dest / rel
        out.mkdir(parents=True, exist_ok=True)
        for extra in ("latest.json", "loss.csv"):
            if (src / extra).exists():
                shutil.copyfile(src / extra, out / extra)
        slim_checkpoint(src / name, out / name)
        lines.append(f"{rel}: step {step}, weights only")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 3 and args[0] == "done":
        return 0 if latest_step(Path(args[1])) >= int(args[2]) else 1
    if len(args) >= 3 and args[0] == "slim":
        targets = dict(a.rsplit("=", 1) for a in args[3:])
        for line in slim_run(Path(args[1]), Path(args[2]), {k: int(v) for k, v in targets.items()}):
            print(line)
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
