"""Whole-clip sampling from a training run: the multi-step teacher (stage 1, full attention) or the one-step student
(stage 3, block-sparse causal), decoded by the run's TCDecoder. For the one-step vs multi-step comparison under
the benchmark's protocol, as a command method:

    flashvsr bench --methods flashvsr-tiny --weights-dir RUN \\
      --command-method 'teacher-8=python -m training.sample --run RUN --stage 1 --steps 8 {input} {output}'

`--decoder BUNDLE` decodes with the TCDecoder of an exported bundle instead of the run's decoder checkpoint (the
bundled model's decoder on its own run's teacher).

Input: a folder of LR frames (PNG/JPG, sorted); output: the x`scale` frames as PNG, same count. Sampling is Euler
on the flow-matching ODE (x_t = (1 - s) x0 + s eps, v = eps - x0) from unit noise at s = 1 over `steps` shifted
sigmas (shift 5, the training shift); one step is exactly the student's `predict_x0`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from model.flashvsr.colorfix import color_fix
from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.tc_decoder import TCDecoder
from model.flashvsr.transformer import AttentionSettings
from training.checkpoint import latest_checkpoint, load_checkpoint, part_state
from training.dit import load_dit
from training.stages import lq_tokens, upsample_lq, zero_latents
from vsrcore.device import default_device
from vsrcore.errors import UserFacingError


def shifted_sigmas(steps: int, shift: float = 5.0) -> list[float]:
    """steps + 1 noise levels from 1 to 0, shifted towards 1 like the training draw: s' = k s / (1 + (k - 1) s)."""
    lin = torch.linspace(1.0, 0.0, steps + 1)
    return (shift * lin / (1 + (shift - 1) * lin)).tolist()


class RunSampler:
    """DiT + LQ projection of one stage of a run directory, and the run's TCDecoder. LR frames (F, C, h, w) in
    [0, 1] -> SR frames (F, C, s*h, s*w) in [0, 1]."""

    def __init__(
        self, run: str | Path, stage: str = "1", scale: int = 4, device: str = "cpu", decoder: str | Path | None = None
    ) -> None:
        run = Path(run)
        ckpt = latest_checkpoint(run / f"stage{stage}")
        dec = Path(decoder) if decoder is not None else latest_checkpoint(run / "decoder")
        if ckpt is None or dec is None:
            raise UserFacingError(f"{run}: sampling needs a stage{stage} and a decoder checkpoint")
        tensors, meta = load_checkpoint(ckpt)
        self.cfg = FlashVSRConfig.from_dict(meta["model_config"])
        self.dit, self.lq_proj = load_dit(self.cfg, tensors)
        self.context = tensors["context"].to(device)
        if decoder is not None:
            from model.flashvsr.build import bundle_config, load_bundle_part

            self.tc = TCDecoder.from_config(bundle_config(dec))
            load_bundle_part(self.tc, dec, "tcdecoder")
        else:
            dec_tensors, dec_meta = load_checkpoint(dec)  # the decoder stage may have resized the TCDecoder
            dec_cfg = dec_meta.get("model_config", meta["model_config"])
            self.tc = TCDecoder.from_config(FlashVSRConfig.from_dict(dec_cfg))
            self.tc.load_state_dict(part_state(dec_tensors, "tcdecoder"))
        for m in (self.dit, self.lq_proj, self.tc):
            m.to(device).eval().requires_grad_(False)
        self.stage, self.scale, self.device = stage, scale, torch.device(device)
        window = int(self.cfg.kv_ratio) + 1
        self.attention = (
            AttentionSettings(sparse_ratio=None, topk_ratio=None, local_range=None)
            if stage == "1"
            else AttentionSettings.from_config(self.cfg, causal_window=window)
        )

    def _pad(self, lr: Tensor) -> tuple[Tensor, int]:
        """LR frames (n, C, h, w) -> (1, 4t+1, C, hp, wp) on the device, padded to whole latents and to a multiple
        of 128 / scale, and t."""
        n, _, h, w = lr.shape
        t = -(-(n + 3) // 4)  # latents for n output frames (4t - 3 >= n)
        t += t % 2  # whole chunks of 2 latents for the block-sparse causal attention
        mult = 128 // self.scale
        hp, wp = -(-h // mult) * mult, -(-w // mult) * mult
        x = F.pad(lr.float(), (0, wp - w, 0, hp - h), mode="replicate")  # (n, C, hp, wp)
        return torch.cat([x, x[-1:].expand(4 * t + 1 - n, -1, -1, -1)]).to(self.device)[None], t

    def _decode(self, z: Tensor, x: Tensor, t: int, size: tuple[int, int, int], fix: str) -> Tensor:
        """Latents (1, z, t, H/8, W/8) + padded LR x -> the first n SR frames (n, C, s*h, s*w), colour-fixed."""
        n, h, w = size
        cond = upsample_lq(x[:, : 4 * t - 3], self.scale)  # (1, C, 4t-3, H, W) in [-1, 1]
        y = self.tc(z.transpose(1, 2), cond)[0, :n, :, : h * self.scale, : w * self.scale].float()
        ref = ((cond[0, :, :n, : h * self.scale, : w * self.scale] + 1) / 2).transpose(0, 1)
        return color_fix(y, ref, fix)  # type: ignore[arg-type]

    @torch.no_grad()
    def __call__(self, lr: Tensor, steps: int = 1, seed: int = 0, fix: str = "adain") -> Tensor:
        n, _, h, w = lr.shape
        x, t = self._pad(lr)
        hp, wp = x.shape[-2:]
        lq = lq_tokens(self.lq_proj, x, self.scale)
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(1, self.cfg.in_dim, t, hp * self.scale // 8, wp * self.scale // 8, generator=g)
        z = z.to(self.device)
        sig = shifted_sigmas(steps)
        for s, s_next in zip(sig[:-1], sig[1:], strict=True):
            v = self.dit(z, self.context, timestep=torch.tensor([s * 1000.0], device=self.device), lq=lq,
                         attention=self.attention)  # fmt: skip
            z = z + (s_next - s) * v
        return self._decode(z, x, t, (n, h, w), fix)


class DecoderOnlySampler(RunSampler):
    """The decoder-only ablation: a run's TCDecoder trained with `decoder_latents="zero"` (no DiT), decoding zero
    latents with the LR conditioning. LR frames (F, C, h, w) in [0, 1] -> SR frames (F, C, s*h, s*w) in [0, 1]."""

    def __init__(self, run: str | Path, scale: int = 4, device: str = "cpu") -> None:
        dec = latest_checkpoint(Path(run) / "decoder")
        if dec is None:
            raise UserFacingError(f"{run}: decoder-only sampling needs a decoder checkpoint")
        tensors, meta = load_checkpoint(dec)
        self.cfg = FlashVSRConfig.from_dict(meta["model_config"])
        self.tc = TCDecoder.from_config(self.cfg)
        self.tc.load_state_dict(part_state(tensors, "tcdecoder"))
        self.tc.to(device).eval().requires_grad_(False)
        self.stage, self.scale, self.device = "none", scale, torch.device(device)

    @torch.no_grad()
    def __call__(self, lr: Tensor, steps: int = 1, seed: int = 0, fix: str = "adain") -> Tensor:
        n, _, h, w = lr.shape
        x, t = self._pad(lr)
        return self._decode(zero_latents(self.tc, x, t, self.scale), x, t, (n, h, w), fix)


def main(argv: list[str] | None = None) -> int:
    """`python -m training.sample --run RUN [--stage 1|3] [--steps N] INPUT_DIR OUTPUT_DIR`."""
    p = argparse.ArgumentParser(prog="python -m training.sample", description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="folder of LR frames")
    p.add_argument("output", help="folder for the SR frames (PNG)")
    p.add_argument("--run", required=True, help="training run directory")
    p.add_argument("--stage", default="1", choices=["1", "2", "3", "none"],
                   help="1: teacher (full attention); 2/3: causal; none: decoder-only run (no DiT)")  # fmt: skip
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--color-fix", default="adain", choices=["adain", "wavelet", "none"])
    p.add_argument("--device", default=default_device())
    p.add_argument("--decoder", default=None, help="an exported bundle whose TCDecoder decodes (default: the run's)")
    args = p.parse_args(argv)
    from vsrcore.video.write import read_image_sequence, write_image_sequence

    try:
        lr = torch.from_numpy(read_image_sequence(args.input)).permute(0, 3, 1, 2).float() / 255
        if args.stage == "none":
            sampler: RunSampler = DecoderOnlySampler(args.run, args.scale, args.device)
        else:
            sampler = RunSampler(args.run, args.stage, args.scale, args.device, args.decoder)
    except UserFacingError as e:
        print(f"python -m training.sample: {e}", file=sys.stderr)
        return 2
    sr = sampler(lr, args.steps, args.seed, args.color_fix)
    out = (sr.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    write_image_sequence(args.output, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
