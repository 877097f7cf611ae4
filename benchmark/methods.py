"""Methods the benchmark runs: every registered model, and "command" methods wrapping external VSR tools.

A method turns LQ frames uint8 (T, H, W, C) into SR frames uint8 (T, sH, sW, C). Model methods come from
`model.MODELS` (the bundled FlashVSR presets and the bicubic/lanczos baselines). A command method runs any
tool per clip as a shell command; its template may use {input} (by default a folder of %08d.png LQ frames),
{output} (the folder the tool writes to; by default as many frames, same names), {input_file} and {stem} (the
clip's file and its name, for tools that read a video), {scale}, {res_h} and {res_w} (the SR size of the padded
clip) and {ffmpeg} (imageio-ffmpeg's binary). `Geometry` pads the clip to the frame count and sizes the tool
needs and cuts its output back; `Layout` says what it reads and where it writes. The tool's wall time, peak
RSS and (with nvidia-smi) peak GPU memory are measured (`benchmark.child_process`). The DOVE, SeedVR2 and STAR
presets (`benchmark.external_methods`) are command methods run from the user's checkout of each project.
"""

from __future__ import annotations

import math
import shlex
import tempfile
from dataclasses import dataclass, field
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
    mode: str = "tiny"  # inference mode of the released FlashVSR presets (tiny: TCDecoder, the release's fast path)
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
        if meta.get("weights") in WEIGHTS:  # a released preset: fail before allocating gigabytes it cannot fill
            from model.flashvsr.weights import mode_files

            options["mode"] = self.mode
            resolve_weights(meta["weights"], self.weights_dir, files=mode_files(self.mode))
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


@dataclass(frozen=True)
class Geometry:
    """What a tool needs of its input, met by padding and undone by trimming.

    Frames: a count of the form `frame_multiple * n + 1` (1: any count), reached by repeating the last frame. Sides:
    LQ height and width multiples of `lq_multiple` and SR sides (scale x LQ) multiples of `sr_multiple`, reached by
    padding the bottom and right edges (`pad_mode`, a numpy.pad mode: "edge", "reflect" or "constant" = black).
    The tool's SR output for the padded clip is cut back to the input's frame count and scale x its size.
    """

    frame_multiple: int = 1
    lq_multiple: int = 1
    sr_multiple: int = 1
    pad_mode: str = "edge"

    def padded_shape(self, frames: int, height: int, width: int, scale: int) -> tuple[int, int, int]:
        """(T, H, W) of the LQ clip the tool is given for an input of (frames, height, width)."""
        side = math.lcm(self.lq_multiple, self.sr_multiple // math.gcd(self.sr_multiple, scale))
        return (
            frames + (1 - frames) % self.frame_multiple,
            height + (-height) % side,
            width + (-width) % side,
        )

    def pad(self, lq: np.ndarray, scale: int) -> np.ndarray:
        """The LQ clip uint8 (T, H, W, C) padded to `padded_shape`."""
        t, h, w, _ = lq.shape
        tp, hp, wp = self.padded_shape(t, h, w, scale)
        if (tp, hp, wp) == (t, h, w):
            return lq
        padded = np.pad(lq, ((0, 0), (0, hp - h), (0, wp - w), (0, 0)), mode=self.pad_mode)  # type: ignore[call-overload]
        return np.concatenate([padded, np.repeat(padded[-1:], tp - t, axis=0)]) if tp > t else padded

    def trim(self, sr: np.ndarray, lq_shape: tuple[int, ...], scale: int, name: str) -> np.ndarray:
        """The tool's SR output for the padded clip, cut back to (T, sH, sW, C) of the input `lq_shape`; MethodError
        when the output does not have the padded clip's frame count and scale x its size."""
        t, h, w = lq_shape[:3]
        tp, hp, wp = self.padded_shape(t, h, w, scale)
        want = (tp, hp * scale, wp * scale, 3)
        if sr.shape != want:
            padded = f" (the input padded from {t}x{h}x{w} to {tp}x{hp}x{wp})" if (tp, hp, wp) != (t, h, w) else ""
            raise MethodError(f"command method '{name}' wrote frames {sr.shape}, expected {want}{padded}")
        return sr[:t, : h * scale, : w * scale]


@dataclass(frozen=True)
class Layout:
    """Where a tool reads the LQ clip and writes its SR output.

    `input`: "frames" ({input} is a folder of %08d.png frames) or "video" ({input} is a folder holding one clip,
    {input_file}: `clip.mp4`, lossless RGB H.264 (libx264rgb, qp 0); `clip.png` instead for a one-frame clip when
    `one_frame_image`). `output`: the SR path under {output}, with {stem} (`clip`) and {ext} (the input file's
    extension) filled in: "" for PNG frames in {output} itself; a folder of frames (sorted by their numbers), an
    image, or a video file.
    """

    input: str = "frames"
    output: str = ""
    one_frame_image: bool = False


INPUT_FPS = 25  # frame rate written into video inputs (the tools copy it to their outputs; no effect on frames)


@dataclass
class CommandMethod:
    """An external tool run per clip as a shell command (see the module docstring for the template fields).

    `geometry` and `layout` say what input it needs and where it writes; `cwd` and `env` where and how it runs;
    `fields` are extra template values inserted verbatim (already shell-quoted by whoever made them). After each
    call `last_run` holds the measurements of the tool's process (`benchmark.child_process`): seconds, peak_rss_gb,
    peak_mem_gb (GPU, or None) and peak_mem_source.
    """

    name: str
    template: str
    scale: int
    timeout_s: float = 3600.0
    geometry: Geometry = Geometry()
    layout: Layout = Layout()
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    last_run: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def build(self) -> None:
        """Nothing to load; the command runs per clip."""

    def command(self, input_dir: Path, output_dir: Path, input_file: Path, sr_size: tuple[int, int]) -> str:
        """The shell command for one clip (padded SR size `sr_size` = (H, W))."""
        values: dict[str, Any] = {
            "input": shlex.quote(str(input_dir)),
            "output": shlex.quote(str(output_dir)),
            "input_file": shlex.quote(str(input_file)),
            "stem": shlex.quote(input_file.stem),
            "scale": self.scale,
            "res_h": sr_size[0],
            "res_w": sr_size[1],
            **self.fields,
        }
        if "{ffmpeg}" in self.template:
            values["ffmpeg"] = shlex.quote(_ffmpeg())
        return self.template.format(**values)

    def __call__(self, lq: np.ndarray) -> np.ndarray:
        from benchmark.child_process import run_child

        self.last_run = {}
        padded = self.geometry.pad(lq, self.scale)
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "lq", Path(tmp) / "sr"
            dst.mkdir()
            input_file = _write_input(src, padded, self.layout)
            sr_size = (padded.shape[1] * self.scale, padded.shape[2] * self.scale)
            run = run_child(
                self.command(src, dst, input_file, sr_size),
                cwd=self.cwd,
                env=self.env,
                timeout_s=self.timeout_s,
                log=Path(tmp) / "log.txt",
            )
            self.last_run = {
                "seconds": run.seconds,
                "peak_rss_gb": run.peak_rss_gb,
                "peak_mem_gb": run.peak_gpu_gb,
                "peak_mem_source": run.gpu_source,
            }
            if run.timed_out:
                raise MethodError(f"command method '{self.name}' timed out after {self.timeout_s:g} s: {run.tail()}")
            if run.returncode != 0:
                raise MethodError(f"command method '{self.name}' exited {run.returncode}: {run.tail()}")
            out = dst / self.layout.output.format(stem=input_file.stem, ext=input_file.suffix.lstrip("."))
            sr = _read_output(out, dst, self.name)
        return self.geometry.trim(sr, lq.shape, self.scale, self.name)

    @property
    def info(self) -> dict[str, Any]:
        return {"kind": "command", "command": self.template}


def _write_input(folder: Path, frames: np.ndarray, layout: Layout) -> Path:
    """Write the LQ clip uint8 (T, H, W, C) in the tool's input layout; returns the file (or folder) written."""
    from vsrcore.video.write import write_image_sequence, write_video

    if layout.input == "frames":
        write_image_sequence(folder, frames)
        return folder
    folder.mkdir(parents=True)
    if len(frames) == 1 and layout.one_frame_image:
        from PIL import Image

        path = folder / "clip.png"
        Image.fromarray(frames[0]).save(path)
        return path
    return write_video(folder / "clip.mp4", frames, fps=INPUT_FPS, codec="x264rgb-lossless")


def _frame_order(path: Path) -> tuple[int, str]:
    digits = "".join(c for c in path.stem if c.isdigit())
    return (int(digits) if digits else -1, path.name)


def _read_output(path: Path, output_dir: Path, name: str) -> np.ndarray:
    """SR frames uint8 (T, H, W, C) from a folder of numbered frames, an image or a video; MethodError when absent."""
    from vsrcore.video.decode import read_frames
    from vsrcore.video.write import read_image

    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_frame_order)
        if files:
            return np.stack([read_image(f) for f in files])
    elif path.is_file():
        return read_image(path)[None] if path.suffix.lower() in IMAGE_SUFFIXES else read_frames(path)
    found = sorted(str(p.relative_to(output_dir)) for p in output_dir.rglob("*"))[:5]
    raise MethodError(
        f"command method '{name}' wrote no output at {path.relative_to(output_dir.parent)} "
        f"(its output folder holds: {', '.join(found) or 'nothing'})"
    )


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()
