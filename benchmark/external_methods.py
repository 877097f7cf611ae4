"""Peers run from the user's own checkout and environment: DOVE, SeedVR2-3B, SeedVR2-7B and STAR.

Each preset calls that project's own inference script, unchanged, from a clone the user names
(`flashvsr bench --method-dir dove=PATH`) with a Python interpreter of its own environment
(`--method-python dove=/envs/dove/bin/python`; default: `python` on PATH), one clip at a time, through
`benchmark.methods.CommandMethod`: the clip is padded to what the script needs (`Geometry`), written in the layout
it reads, and its output is read back and cut to the input's frame count and scale x size. Options per preset
come as `--set NAME.KEY=VALUE` (`weights`, `args` appended to the command, `timeout_s`, and each preset's own).

The command lines were checked against each project's argument parser at the commit in `Preset.commit`
(docs/benchmark.md, "External methods", gives the command, layouts and rules of each). A preset whose checkout,
script, interpreter or weights is absent is not an error: every one of its cells is recorded as missing with the
reason (`check()`), and the run goes on. Importing this module imports nothing heavy.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmark.methods import CommandMethod, Geometry, Layout
from vsrcore.errors import MissingDependency, MissingWeights, UsageError, UserFacingError
from vsrcore.registry import check_known


@dataclass(frozen=True)
class Preset:
    """How one project's inference script is run.

    `template`: the command, run in the checkout, with the `CommandMethod` fields and {python}, {weights},
    {args} and the preset's `settings`. `weights`: the default weights location relative to the checkout (a folder
    or a file, `--set NAME.weights=PATH` overrides it when `weights_arg`), and `weights_files` what must exist in it
    ("": the path itself).
    `frames_per_gpu`: the frame rule is `frames_per_gpu * gpus * n + 1` frames (SeedVR2's sequence parallelism).
    """

    name: str
    description: str
    repo: str
    commit: str
    script: str
    template: str
    weights: str
    weights_files: tuple[str, ...]
    weights_source: str
    geometry: Geometry
    layout: Layout
    settings: dict[str, Any] = field(default_factory=dict)
    weights_arg: bool = True
    frames_per_gpu: int = 0


def _seedvr2(size: str, checked: str) -> Preset:
    return Preset(
        name=f"seedvr2-{size.lower()}",
        description=f"SeedVR2-{size} (one-step diffusion; ByteDance-Seed/SeedVR, run from your checkout)",
        repo="ByteDance-Seed/SeedVR",
        commit=checked,
        script=f"projects/inference_seedvr2_{size.lower()}.py",
        # torchrun as the README launches it; --standalone picks a free rendezvous port on one host
        template=(
            "{python} -m torch.distributed.run --standalone --nproc-per-node={gpus} "
            f"projects/inference_seedvr2_{size.lower()}.py "
            "--video_path {input} --output_dir {output} --seed {seed} --res_h {res_h} --res_w {res_w} "
            "--sp_size {gpus}{args}"
        ),
        weights="ckpts",
        weights_files=(f"seedvr2_ema_{size.lower()}.pth", "ema_vae.pth"),
        weights_source=f"https://huggingface.co/ByteDance-Seed/SeedVR2-{size}",
        geometry=Geometry(frame_multiple=4, sr_multiple=16, pad_mode="reflect"),
        layout=Layout(input="video", output="{stem}.{ext}", one_frame_image=True),
        settings={"seed": 666, "gpus": 1},
        weights_arg=False,  # the script reads ./ckpts of its checkout, and no argument changes that
        frames_per_gpu=4,
    )


_SEEDVR_COMMIT = "673b56374c2adb21b7628b90df3829d457a52bbb"

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="dove",
            description="DOVE (one-step diffusion on CogVideoX1.5-5B; zhengchen1999/DOVE, run from your checkout)",
            repo="zhengchen1999/DOVE",
            commit="ad649cccf62780d36cfbdcfd3c1a4a535a5df4da",
            script="inference_script.py",
            template=(
                "{python} inference_script.py --input_dir {input} --model_path {weights} --output_path {output} "
                "--upscale {scale} --is_vae_st --png_save --seed {seed}{args}"
            ),
            weights="pretrained_models/DOVE",
            weights_files=("model_index.json",),
            weights_source="the DOVE (Stage-2, Final) link of the zhengchen1999/DOVE README (Google Drive / Baidu)",
            # DOVE's own rule (8n+1 frames, LQ sides multiples of 16, black padding at the bottom/right), applied
            # here so its own padding is a no-op and the crop back is exact at any --upscale
            geometry=Geometry(frame_multiple=8, lq_multiple=16, pad_mode="constant"),
            layout=Layout(input="video", output="{stem}"),
            settings={"seed": 42},
        ),
        _seedvr2("3B", _SEEDVR_COMMIT),
        _seedvr2("7B", _SEEDVR_COMMIT),
        Preset(
            name="star",
            description="STAR (I2VGen-XL, 15-step diffusion; NJU-PCALab/STAR, run from your checkout)",
            repo="NJU-PCALab/STAR",
            commit="69b8bc53e4bb04267265fa9a288ee30882c5b2ed",
            script="video_super_resolution/scripts/inference_sr.py",
            template=(
                "{python} video_super_resolution/scripts/inference_sr.py --solver_mode fast --steps 15 "
                "--input_path {input_file} --model_path {weights} --prompt {prompt} --upscale {scale} "
                "--max_chunk_len {max_chunk_len} --file_name {stem}.mp4 --save_dir {output}{args}"
            ),
            weights="pretrained_weight/heavy_deg.pt",
            weights_files=("",),
            weights_source="https://huggingface.co/SherryX/STAR (I2VGen-XL-based/heavy_deg.pt or light_deg.pt)",
            # STAR pads and crops space itself; its writer (yuv420p) needs even SR sides
            geometry=Geometry(sr_multiple=2, pad_mode="reflect"),
            layout=Layout(input="video", output="{stem}.mp4"),
            settings={"prompt": "", "max_chunk_len": 32},
        ),
    )
}

COMMON_OPTIONS = ("weights", "args", "timeout_s")


class MethodSetupError(UsageError):
    """A `--method-dir`, `--method-python` or `--set NAME.KEY` that names no preset or option."""


class MissingCheckout(MissingDependency):
    """An external method's checkout, script or interpreter is absent (its cells are recorded as missing)."""


class MissingMethodWeights(MissingWeights):
    """An external method's weights are absent; the message names the paths and where they come from."""

    def __init__(self, name: str, missing: list[str], source: str, hint: str) -> None:
        self.name, self.missing, self.searched, self.source = name, missing, [], source
        UserFacingError.__init__(self, f"{name}: weights missing: {', '.join(missing)}; get them from {source}{hint}")


@dataclass
class ExternalMethod(CommandMethod):
    """A `Preset` bound to a checkout, an interpreter and options; `check()` says what keeps it from running."""

    preset: Preset | None = None
    checkout: Path | None = None
    python: str = "python"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def weights_path(self) -> Path | None:
        """The weights folder or file the script is given (or reads)."""
        given = self.options.get("weights")
        if given is not None:
            return Path(str(given)).expanduser().absolute()
        return self.checkout / self.preset.weights if self.checkout and self.preset else None

    def check(self) -> list[UserFacingError]:
        """Everything missing, in order: checkout, script, interpreter, weights (empty when it can run here)."""
        assert self.preset is not None
        p, name = self.preset, self.name
        clone = f"a clone of https://github.com/{p.repo}"
        if self.checkout is None:
            return [MissingCheckout(f"{name}: no checkout given (--method-dir {name}=PATH, {clone})")]
        if not self.checkout.is_dir():
            return [MissingCheckout(f"{name}: checkout {self.checkout} is not a folder (--method-dir, {clone})")]
        problems: list[UserFacingError] = []
        if not (self.checkout / p.script).is_file():
            problems.append(MissingCheckout(f"{name}: {self.checkout} has no {p.script} (is it {clone}?)"))
        if _interpreter(self.python) is None:
            problems.append(
                MissingCheckout(
                    f"{name}: python interpreter '{self.python}' not found "
                    f"(--method-python {name}=/path/to/env/bin/python)"
                )
            )
        weights = self.weights_path
        assert weights is not None
        absent = [str(weights / f) if f else str(weights) for f in p.weights_files if not (weights / f).exists()]
        if absent:
            hint = f" (or --set {name}.weights=PATH)" if p.weights_arg else " (the script reads them there)"
            problems.append(MissingMethodWeights(name, absent, p.weights_source, hint))
        return problems

    def build(self) -> None:
        """Raise the first problem `check()` finds (MissingCheckout or MissingMethodWeights)."""
        problems = self.check()
        if problems:
            raise problems[0]

    @property
    def info(self) -> dict[str, Any]:
        assert self.preset is not None
        commit = _git_commit(self.checkout) if self.checkout and self.checkout.is_dir() else None
        return {
            "kind": "external",
            "preset": self.preset.name,
            "repo": self.preset.repo,
            "checked_commit": self.preset.commit,
            "checkout": str(self.checkout) if self.checkout else None,
            "checkout_commit": commit,
            "python": self.python,
            "options": dict(self.options),
            "command": self.template,
        }


def _interpreter(python: str) -> str | None:
    path = Path(python).expanduser()
    if "/" in python:
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(python)


def _git_commit(checkout: Path) -> str | None:
    try:
        r = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0 or not r.stdout.strip():
        return None
    return r.stdout.strip()


def check_options(name: str, options: dict[str, Any]) -> None:
    """MethodSetupError for an option key the preset `name` does not take (with the closest valid keys)."""
    keys = [*COMMON_OPTIONS, *PRESETS[name].settings]
    try:
        check_known(f"option of {name} (--set {name}.KEY=VALUE)", options, keys)
    except UserFacingError as e:
        raise MethodSetupError(str(e)) from None
    for key, value in options.items():
        default = PRESETS[name].settings.get(key, 1.0 if key == "timeout_s" else "")
        kind = (int, float) if isinstance(default, float) else type(default)
        if isinstance(default, (int, float)) and (isinstance(value, bool) or not isinstance(value, kind)):
            raise MethodSetupError(f"--set {name}.{key}: expected a number, got {value!r}")
        if key in ("gpus", "timeout_s") and value <= 0:
            raise MethodSetupError(f"--set {name}.{key}: must be > 0, got {value!r}")
    if "weights" in options and not PRESETS[name].weights_arg:
        raise MethodSetupError(
            f"--set {name}.weights: {PRESETS[name].script} reads its weights from <checkout>/{PRESETS[name].weights} "
            "and takes no argument for them; put (or link) them there"
        )


def external_method(
    name: str,
    scale: int,
    *,
    checkout: str | Path | None = None,
    python: str | None = None,
    options: dict[str, Any] | None = None,
) -> ExternalMethod:
    """The preset `name` bound to a checkout, an interpreter and `--set NAME.KEY` options (checked here; what is
    missing on disk is found by `check()` when the run builds it)."""
    preset = PRESETS[name]
    opts = dict(options or {})
    check_options(name, opts)
    settings = {**preset.settings, **{k: v for k, v in opts.items() if k in preset.settings}}
    root = Path(checkout).expanduser().absolute() if checkout is not None else None
    geometry = preset.geometry
    if preset.frames_per_gpu:
        geometry = replace(geometry, frame_multiple=preset.frames_per_gpu * int(settings["gpus"]))
    method = ExternalMethod(
        name=name,
        template=preset.template,
        scale=scale,
        timeout_s=float(opts.get("timeout_s", 3600.0)),
        geometry=geometry,
        layout=preset.layout,
        cwd=root,
        # the project's own modules first, none of ours (its imports are relative to its checkout)
        env={"PYTHONPATH": str(root) if root else ""},
        preset=preset,
        checkout=root,
        python=python or "python",
        options=opts,
    )
    weights = method.weights_path
    method.fields = {
        "python": shlex.quote(method.python),
        "weights": shlex.quote(str(weights)) if weights else "",
        "args": (" " + shlex.join(shlex.split(str(opts["args"])))) if opts.get("args") else "",
        **{k: shlex.quote(str(v)) for k, v in settings.items()},
    }
    return method


def preset_rows(
    method_dirs: dict[str, str], method_pythons: dict[str, str], scale: int = 4
) -> list[tuple[str, str, list[str], list[str]]]:
    """(name, what it is, what it needs, what is missing here) per preset, for `flashvsr list models`."""
    rows = []
    for name, p in PRESETS.items():
        m = external_method(name, scale, checkout=method_dirs.get(name), python=method_pythons.get(name))
        where = f"<checkout>/{p.weights}" + ("" if p.weights_arg else " (fixed by the script)")
        needs = [
            f"--method-dir {name}=<clone of github.com/{p.repo}>",
            f"its python (--method-python {name}=...) with the project's requirements and a CUDA GPU",
            f"weights {where} from {p.weights_source}",
        ]
        rows.append((name, f"{p.description} [external, bench only]", needs, [str(e) for e in m.check()]))
    return rows
