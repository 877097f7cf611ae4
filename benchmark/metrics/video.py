"""Whole-video metrics: VMAF (ffmpeg libvmaf) and DOVER (weights-needing; network in `benchmark.metrics.dover`).

VMAF runs the static ffmpeg that imageio-ffmpeg ships (built with libvmaf and its built-in model): both
clips go in as raw rgb24, are converted to yuv444p by ffmpeg (BT.601), and the pooled mean is returned.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections import OrderedDict
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


_NETWORKS: dict[tuple[str, int, str], Any] = {}  # (weights path, mtime_ns, device) -> DOVERNet, shared by outputs
_RAW: OrderedDict[tuple[str, int, str, str], tuple[float, float]] = OrderedDict()  # ... + views digest -> raw
_RAW_KEEP = 4


class DOVER(Metric):
    """DOVER video quality of a (T, 3, H, W) clip: `output` 'overall' (fused, 0-1), 'technical' or 'aesthetic'
    (sigmoid x100). Needs DOVER.pth (S-Lab non-commercial licence); without it the constructor raises
    MissingWeights naming the file and where to get it.

    Sampling is the official evaluation's (`benchmark.metrics.dover.views`). Its random choices (frame offsets,
    fragment positions) come from a generator seeded with (`seed`, the clip's T x H x W): a clip always gets the
    same score, in any order or process, and every method's output of a clip is sampled at the same frames and
    fragment positions. The three outputs share one loaded network, and the network runs once per clip for all
    three (its raw outputs are kept for the last few views scored).
    """

    name = "dover"
    per = "video"
    needs_reference = False

    def __init__(self, *, output: str = "overall", seed: int = 0, **kw: Any) -> None:
        super().__init__(**kw)
        if output not in ("overall", "technical", "aesthetic"):
            raise ValueError(f"DOVER output must be overall, technical or aesthetic, got '{output}'")
        self.output = output
        self.seed = int(seed)
        path = resolve_weights("dover", self.weights_dir)["DOVER.pth"]
        self._key = (str(Path(path).resolve()), Path(path).stat().st_mtime_ns, str(self.device))
        if self._key not in _NETWORKS:
            from benchmark.metrics.dover.model import load_dover

            _NETWORKS[self._key] = load_dover(path, self.device)
        self.net = _NETWORKS[self._key]

    def sample(self, frames: int, height: int, width: int) -> Any:
        """The DoverSample (frame indices, fragment offsets) this metric uses for a clip of that size."""
        from benchmark.metrics.dover.views import seeded_sample

        return seeded_sample(self.seed, frames, height, width)

    def evaluate(self, pred: Any, sample: Any = None) -> Any:
        """DoverScores (raw branch scores and the three scales) of one clip, float [0, 1] (T, 3, H, W) or uint8
        (T, H, W, 3); `sample` overrides the seeded DoverSample (fidelity tests feed upstream's draws)."""
        from benchmark.metrics.base import as_clip
        from benchmark.metrics.dover.model import fuse
        from benchmark.metrics.dover.views import build_views

        clip = as_clip(pred, "pred")
        t, c, h, w = clip.shape
        if c != 3:
            raise ValueError(f"DOVER needs RGB clips, got {c} channel(s)")
        sample = sample if sample is not None else self.sample(t, h, w)
        used = set(sample.technical_frames.tolist()) | set(sample.aesthetic_frames.tolist())
        frames = {i: (clip[i] * 255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous() for i in used}
        views = build_views(frames, sample)
        digest = hashlib.sha256(views["technical"].numpy().tobytes() + views["aesthetic"].numpy().tobytes())
        key = (*self._key, digest.hexdigest())
        if key not in _RAW:
            with torch.inference_mode():
                tech, aes = self.net(views["technical"].to(self.device), views["aesthetic"].to(self.device))
            _RAW[key] = (float(tech.mean()), float(aes.mean()))
            while len(_RAW) > _RAW_KEEP:
                _RAW.popitem(last=False)
        return fuse(*_RAW[key])

    def score_clip(self, pred: torch.Tensor, ref: torch.Tensor | None) -> float:
        return float(getattr(self.evaluate(pred), self.output))
