"""Whole-video metrics: VMAF (ffmpeg libvmaf) and DOVER (weights-needing).

VMAF runs the static ffmpeg that imageio-ffmpeg ships (built with libvmaf and its built-in model): both
clips go in as raw rgb24, are converted to yuv444p by ffmpeg (BT.601), and the pooled mean is returned.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import torch

from benchmark.metrics.base import Metric
from vsrcore.errors import UserFacingError
from vsrcore.weights import resolve_weights


def _u8(clip: torch.Tensor) -> bytes:
    return (clip.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).contiguous().cpu().numpy().tobytes()


def vmaf(pred: torch.Tensor, ref: torch.Tensor, fps: float = 25.0) -> float:
    """VMAF (0-100) of a (T, 3, H, W) clip against its reference, via ffmpeg libvmaf."""
    import imageio_ffmpeg

    t, _, h, w = pred.shape
    with tempfile.TemporaryDirectory(prefix="flashvsr-vmaf-") as tmp:
        d, r, log = Path(tmp) / "dist.rgb", Path(tmp) / "ref.rgb", Path(tmp) / "vmaf.json"
        d.write_bytes(_u8(pred))
        r.write_bytes(_u8(ref))
        raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps)]
        graph = (
            "[0:v]format=yuv444p[d];[1:v]format=yuv444p[r];"
            f"[d][r]libvmaf=log_fmt=json:log_path={log.as_posix()}:n_threads=2"
        )
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", *raw, "-i", str(d), *raw, "-i", str(r)]
        cmd += ["-lavfi", graph, "-f", "null", "-"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not log.exists():
            raise UserFacingError(f"ffmpeg libvmaf failed: {proc.stderr.strip().splitlines()[-1:] or 'no output'}")
        result = json.loads(log.read_text())
    return float(result["pooled_metrics"]["vmaf"]["mean"])


class VMAF(Metric):
    """VMAF of the whole clip (ffmpeg libvmaf, default model); higher is better."""

    name = "vmaf"
    per = "video"

    def __init__(self, *, fps: float = 25.0, **kw: Any) -> None:
        super().__init__(**kw)
        self.fps = fps

    def score_clip(self, pred: torch.Tensor, ref: torch.Tensor | None) -> float:
        assert ref is not None
        if pred.shape[1] != 3:
            raise ValueError("VMAF needs RGB clips")
        return vmaf(pred, ref, self.fps)


class DOVER(Metric):
    """DOVER video quality (technical, aesthetic, fused overall). Needs DOVER.pth (S-Lab non-commercial licence).

    The weights are resolved first, so without them this raises MissingWeights. The DOVER network itself
    (Swin-T technical branch + ConvNeXt-T aesthetic branch) is not bundled in this version: with the
    weights present it raises a UserFacingError saying so, never a number.
    """

    name = "dover"
    per = "video"
    needs_reference = False

    def __init__(self, *, output: str = "overall", **kw: Any) -> None:
        super().__init__(**kw)
        if output not in ("overall", "technical", "aesthetic"):
            raise ValueError(f"DOVER output must be overall, technical or aesthetic, got '{output}'")
        self.output = output
        files = resolve_weights("dover", self.weights_dir)
        raise UserFacingError(
            f"DOVER weights found ({files['DOVER.pth']}) but the DOVER network is not bundled in this version; "
            "run VQAssessment/DOVER's evaluate_a_set_of_videos.py on the outputs instead"
        )

    def score_clip(self, pred: torch.Tensor, ref: torch.Tensor | None) -> float:  # pragma: no cover
        raise NotImplementedError
