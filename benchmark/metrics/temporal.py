"""Temporal metrics: E*warp (flow warping error), tOF and tLP.

E*warp follows EvalCrafter's `compute_video_warping_error` (the variant STAR and DOVE report): each
consecutive pair is downsampled x0.5 (bilinear), forward and backward flow are estimated, pixels failing
the forward/backward consistency test (Sundaram et al.: |f + b(x+f)|^2 < 0.01 (|f|^2 + |b(x+f)|^2) + 0.5)
are masked as occluded, frame t+1 is warped into frame t, and the squared RGB error (summed over channels)
is averaged over non-occluded pixels; pairs are averaged and the result is reported x1000. The flow is
RAFT-large (torchvision, 20 updates) when its weights are present (`ewarp`), or OpenCV DIS (`ewarp_dis`,
a labelled variant whose numbers are not comparable with RAFT's).

tOF and tLP follow TecoGAN's metrics.py: Farneback flow (0.5, 3, 15, 3, 5, 1.2) on greyscale frames
centre-cropped to multiples of 8, mean L2 norm of flow(GT) - flow(output); and
|LPIPS(gt[t-1], gt[t]) - LPIPS(out[t-1], out[t])| x 100 with AlexNet LPIPS.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.metrics.base import Metric
from vsrcore.weights import resolve_weights


def warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample (N, C, H, W) `x` at pixel + flow; flow (N, 2, H, W) in pixels (x, y). Outside -> border value."""
    n, _, h, w = x.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, device=x.device, dtype=x.dtype), torch.arange(w, device=x.device, dtype=x.dtype), indexing="ij"
    )
    gx = (xs + flow[:, 0]) / max(w - 1, 1) * 2 - 1
    gy = (ys + flow[:, 1]) / max(h - 1, 1) * 2 - 1
    return F.grid_sample(x, torch.stack([gx, gy], dim=-1), mode="bilinear", padding_mode="border", align_corners=True)


def non_occluded(fw: torch.Tensor, bw: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) float mask of pixels whose forward flow is consistent with the backward flow."""
    bw_at = warp(bw, fw)
    lhs = (fw + bw_at).pow(2).sum(1, keepdim=True)
    rhs = 0.01 * (fw.pow(2).sum(1, keepdim=True) + bw_at.pow(2).sum(1, keepdim=True)) + 0.5
    return (lhs < rhs).to(fw.dtype)


class _DISFlow:
    name = "dis"

    def __init__(self) -> None:
        import cv2

        self._cv2 = cv2
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Flow (N, 2, H, W) from frames a to b, both (N, 3, H, W) in [0, 1]."""
        out = []
        for x, y in zip(a, b, strict=True):
            gx = self._gray(x)
            gy = self._gray(y)
            out.append(torch.from_numpy(self._dis.calc(gx, gy, None)).permute(2, 0, 1))
        return torch.stack(out).to(a.device, a.dtype)

    def _gray(self, x: torch.Tensor) -> np.ndarray:
        u8 = (x.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
        return self._cv2.cvtColor(np.ascontiguousarray(u8), self._cv2.COLOR_RGB2GRAY)


class _RAFTFlow:
    name = "raft-large"

    def __init__(self, device: torch.device, weights_dir: Any, iters: int = 20, random_weights: bool = False) -> None:
        from torchvision.models.optical_flow import raft_large

        model = raft_large(weights=None, progress=False)
        if not random_weights:
            path = resolve_weights("raft-large", weights_dir)["raft_large_C_T_SKHT_V2-ff5fadd5.pth"]
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.model = model.eval().to(device)
        self.iters = iters

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        h, w = a.shape[-2:]
        ph, pw = (-h) % 8, (-w) % 8
        pa = F.pad(a * 2 - 1, (0, pw, 0, ph), mode="replicate")
        pb = F.pad(b * 2 - 1, (0, pw, 0, ph), mode="replicate")
        return self.model(pa, pb, num_flow_updates=self.iters)[-1][..., :h, :w]


def warping_error(clip: torch.Tensor, flow: Any, batch_size: int = 4) -> float:
    """E*warp x1000 of a (T, 3, H, W) clip in [0, 1] with a flow estimator `flow(a, b) -> (N, 2, H, W)`."""
    if clip.shape[0] < 2:
        raise ValueError("E*warp needs at least 2 frames")
    errs = []
    for i in range(0, clip.shape[0] - 1, batch_size):
        a = clip[i : i + batch_size]
        b = clip[i + 1 : i + 1 + batch_size]
        a = a[: b.shape[0]]
        a = F.interpolate(a, scale_factor=0.5, mode="bilinear", align_corners=False)
        b = F.interpolate(b, scale_factor=0.5, mode="bilinear", align_corners=False)
        fw, bw = flow(a, b), flow(b, a)
        mask = non_occluded(fw, bw)
        err = ((a - warp(b, fw)).pow(2).sum(1, keepdim=True) * mask).sum(dim=(1, 2, 3))
        errs.append((err / mask.sum(dim=(1, 2, 3)).clamp_min(1)).double().cpu())
    return float(torch.cat(errs).mean()) * 1000


class EWarp(Metric):
    """Flow warping error of a clip (x1e-3 units); `flow` 'raft' (needs weights) or 'dis' (OpenCV)."""

    name = "ewarp"
    per = "video"
    needs_reference = False

    def __init__(self, *, flow: str = "raft", random_weights: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        if flow == "raft":
            self.flow: Any = _RAFTFlow(self.device, self.weights_dir, random_weights=random_weights)
        elif flow == "dis":
            self.flow = _DISFlow()
        else:
            raise ValueError(f"flow must be 'raft' or 'dis', got '{flow}'")

    def score_clip(self, pred: torch.Tensor, ref: torch.Tensor | None) -> float:
        with torch.inference_mode():
            return warping_error(pred.to(self.device), self.flow, self.batch_size)


def _crop8(x: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[-2:]
    h8, w8 = h - h % 8, w - w % 8
    top, left = (h - h8) // 2, (w - w8) // 2
    return x[..., top : top + h8, left : left + w8]


class TOF(Metric):
    """tOF: mean L2 distance between Farneback flows of consecutive GT and output frames; lower is better."""

    name = "tof"
    per = "video"

    def score_clip(self, pred: torch.Tensor, ref: torch.Tensor | None) -> float:
        import cv2

        assert ref is not None
        if pred.shape[0] < 2:
            raise ValueError("tOF needs at least 2 frames")

        def gray(clip: torch.Tensor) -> list[np.ndarray]:
            u8 = (_crop8(clip).clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
            return [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in u8]

        gp, gr = gray(pred), gray(ref)
        dists = []
        for t in range(1, len(gp)):
            fo = cv2.calcOpticalFlowFarneback(gp[t - 1], gp[t], None, 0.5, 3, 15, 3, 5, 1.2, 0)
            fg = cv2.calcOpticalFlowFarneback(gr[t - 1], gr[t], None, 0.5, 3, 15, 3, 5, 1.2, 0)
            dists.append(float(np.mean(np.sqrt(np.sum((fg - fo) ** 2, axis=-1)))))
        return float(np.mean(dists))


class TLP(Metric):
    """tLP x100: |LPIPS(gt[t-1], gt[t]) - LPIPS(out[t-1], out[t])| averaged over pairs; lower is better."""

    name = "tlp"
    per = "video"

    def __init__(self, *, random_weights: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        from benchmark.metrics.perceptual import LPIPS

        self.lpips = LPIPS(net="alex", random_weights=random_weights, **kw)

    def score_clip(self, pred: torch.Tensor, ref: torch.Tensor | None) -> float:
        assert ref is not None
        if pred.shape[0] < 2:
            raise ValueError("tLP needs at least 2 frames")
        d_out = self.lpips._per_frame(pred[1:], pred[:-1])
        d_gt = self.lpips._per_frame(ref[1:], ref[:-1])
        return float(np.mean(np.abs(d_gt - d_out)) * 100)
