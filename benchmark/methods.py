"""Methods the benchmark runs: every registered model, and "command" methods wrapping external VSR tools.

A method turns LQ frames uint8 (T, H, W, C) into SR frames uint8 (T, sH, sW, C). Model methods come from
`model.MODELS` (the bundled FlashVSR presets and the bicubic/lanczos baselines). A command method runs any
tool on a folder of PNG frames: its template may use {input} (folder of %08d.png LQ frames), {output}
(folder the tool must fill with as many frames, same names), {scale} and {ffmpeg} (imageio-ffmpeg's binary).
That is how DOVE, SeedVR2, STAR or Upscale-A-Video installed by a user run under the same protocol.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vsrcore.errors import UserFacingError


# name -> command template; ffmpeg's Lanczos scaler is the shipped, working example.
COMMAND_METHODS: dict[str, str] = {
    "ffmpeg-lanczos": (
        "{ffmpeg} -loglevel error -y -i {input}/%08d.png -vf scale=iw*{scale}:ih*{scale}:flags=lanczos "
        "-start_number 0 {output}/%08d.png"
    ),
}


class MethodError(UserFacingError):
    """A method failed on a clip (its command exited non-zero, or produced the wrong frames)."""


@dataclass
class ModelMethod:
    """A registered model (`model.MODELS`), built once and run on whole clips."""

    name: str
    scale: int
    device: str | None = None
    weights_dir: str | None = None
    _model: Any = None

    def build(self) -> None:
        """Load the model (MissingWeights when its weights are absent: the runner records that)."""
        from model import MODELS
        from vsrcore.weights import WEIGHTS, resolve_weights

        options: dict[str, Any] = {"scale": self.scale}
        if self.device:
            options["device"] = self.device
        meta = MODELS.spec(self.name).meta
        if meta.get("needs_weights"):
            options["weights_dir"] = self.weights_dir
            if meta.get("weights") in WEIGHTS:  # fail before allocating a model its weights cannot fill (gigabytes)
                resolve_weights(meta["weights"], self.weights_dir)
        self._model = MODELS.build(self.name, **options)

    def __call__(self, lq: np.ndarray) -> np.ndarray:
        from vsrcore.tensors import float_to_uint8, uint8_to_float

        if self._model is None:
            self.build()
        self._model.reset()
        device = getattr(self._model, "device", "cpu")
        return float_to_uint8(self._model.upscale(uint8_to_float(lq).to(device)), self._model.uint8_rounding)

    @property
    def info(self) -> dict[str, Any]:
        from model import MODELS

        return {"kind": "model", **MODELS.spec(self.name).meta}


@dataclass
class CommandMethod:
    """An external tool run on a folder of PNG frames (see the module docstring for the template fields)."""

    name: str
    template: str
    scale: int
    timeout_s: float = 3600.0

    def build(self) -> None:
        """Nothing to load; the command runs per clip."""

    def __call__(self, lq: np.ndarray) -> np.ndarray:
        from vsrcore.video.write import read_image_sequence, write_image_sequence

        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "lq", Path(tmp) / "sr"
            dst.mkdir()
            write_image_sequence(src, lq)
            cmd = self.template.format(
                input=shlex.quote(str(src)),
                output=shlex.quote(str(dst)),
                scale=self.scale,
                ffmpeg=shlex.quote(_ffmpeg()),
            )
            r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=self.timeout_s)
            if r.returncode != 0:
                tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
                raise MethodError(f"command method '{self.name}' exited {r.returncode}: {tail[0]}")
            sr = read_image_sequence(dst)
        t, h, w, _ = lq.shape
        if sr.shape != (t, h * self.scale, w * self.scale, 3):
            raise MethodError(
                f"command method '{self.name}' wrote frames {sr.shape}, expected "
                f"{(t, h * self.scale, w * self.scale, 3)}"
            )
        return sr

    @property
    def info(self) -> dict[str, Any]:
        return {"kind": "command", "command": self.template}


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def method_names() -> list[str]:
    """Every runnable method name: registered models, then command methods."""
    from model import MODELS

    return MODELS.names() + sorted(COMMAND_METHODS)


def make_method(
    name: str,
    scale: int,
    *,
    device: str | None = None,
    weights_dir: str | None = None,
    commands: dict[str, str] | None = None,
) -> ModelMethod | CommandMethod:
    """The method called `name` (a model or a command method; `commands` adds user templates)."""
    from model import MODELS

    templates = {**COMMAND_METHODS, **(commands or {})}
    if name in templates:
        return CommandMethod(name, templates[name], scale)
    MODELS.spec(name)  # KeyError with suggestions for an unknown name
    return ModelMethod(name, scale, device, weights_dir)
