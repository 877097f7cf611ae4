"""One small step function per training stage: (parts, batch, generator, options) -> named losses.

Each returns a dict whose "loss" is what the trainer back-propagates (stage 3's sum has independent terms: the
generator's DMD and pixel losses never reach the fake score, and the fake score's flow-matching loss never reaches
the generator, so one optimiser over both equals the usual two). All randomness comes from `generator` (a CPU
torch.Generator the trainer seeds from (seed, step)), so a step is reproducible on any device.

Frame bookkeeping for a clip of 4T + 1 HR frames (T latent frames):
- GT target frames: the first 4T - 3 (they encode to T latents: 1 + 4(T - 1) frames);
- LQ projection input: all 4T + 1 LR frames, bicubic-upsampled x scale, in [-1, 1] (1 + 4T frames -> T latents);
- photos: 1 GT frame -> 1 latent; LQ = the photo repeated 5 times.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.lq_proj import LQProjection
from model.flashvsr.tc_decoder import TCDecoder
from model.flashvsr.transformer import AttentionSettings
from training.autoencoder import TinyVideoAE, latent_regulariser
from training.data import PairBatch
from training.losses import PerceptualFn, dmd_gradient, dmd_loss, fm_noisy, masked_mse, sample_sigmas
from training.packed import frame_layout, pack, packed_forward, plan_packing


@dataclass
class StageOptions:
    """Loss weights and knobs shared by the stages (defaults follow the paper where it says: lambda = 2)."""

    scale: int = 4
    shift: float = 5.0
    lpips_weight: float = 2.0
    kl_weight: float = 1e-4
    moment_weight: float = 1e-2
    pixel_weight: float = 1.0
    pixel_latents: int = 2  # stage 3: latents decoded per step for the pixel losses
    row_frames: int | None = None  # stage 1 packing: latent frames per row (None: longest sample)
    backend: str | None = None  # block-sparse attention backend (None: flex on CUDA, reference on CPU)
    random_window: bool = True  # stages 2-3: randomised causal window / KV length
    # decoder stage: "gt" (encoded GT), "student" (one-step latents of stage 3) or "zero" (the decoder-only
    # ablation: all-zero latents, so the TCDecoder works from the LR conditioning alone; no DiT, no autoencoder)
    decoder_latents: str = "gt"
    full_weight: float = 1.0  # decoder stage: weight of the losses against the full (stage-0) decoder
    # decoder stage, GT term: "mse", "l1" (every pixel pulls equally, so heavily degraded samples do not drown
    # clean ones) or "psnr" (mean over samples of 10 log10 MSE)
    decoder_loss: str = "mse"
    psnr_eps: float = 1e-8  # "psnr": 10 log10(MSE + eps); a larger eps caps the weight of near-perfect samples
    # decoder stage: weight of each sample's GT term by its degradation preset (absent: 1), e.g.
    # {"realbasicvsr": 0.1} keeps real-world samples (errors ~25x BI's in MSE) from drowning clean ones
    preset_weights: dict[str, float] = field(default_factory=dict)
    lpips: PerceptualFn | None = field(default=None, repr=False)


# ------------------------------------------------------------------------------------------------------------------
# shared helpers
# ------------------------------------------------------------------------------------------------------------------
def to_signed(x: Tensor) -> Tensor:
    """[0, 1] -> [-1, 1]."""
    return x * 2 - 1


def video_layout(batch: PairBatch) -> int:
    """T, the latent frames of the batch's clips (clips have 4T + 1 frames)."""
    n = batch.video_gt.shape[1]
    if (n - 1) % 4 or n < 5:
        raise ValueError(f"training clips need 4T + 1 frames (T >= 1), got {n}")
    return (n - 1) // 4


def upsample_lq(lq: Tensor, scale: int) -> Tensor:
    """LR frames (B, T, C, h, w) in [0, 1] -> bicubic x scale, (B, C, T, H, W) in [-1, 1]."""
    b, t = lq.shape[:2]
    up = F.interpolate(lq.flatten(0, 1).float(), scale_factor=scale, mode="bicubic", align_corners=False)
    return to_signed(up.clamp(0, 1)).unflatten(0, (b, t)).transpose(1, 2)


def encode(ae: TinyVideoAE, frames: Tensor) -> Tensor:
    """GT frames (B, T, C, H, W) in [0, 1] -> latents mu (B, z, 1 + (T - 1)/4, H/8, W/8), no gradient."""
    with torch.no_grad():
        return ae.encode(to_signed(frames).transpose(1, 2))[0].float()


def lq_tokens(lq_proj: LQProjection, lq: Tensor, scale: int) -> list[Tensor]:
    """LR frames (B, 1 + 4T, C, h, w) (or 1 frame: a photo, repeated to 5) -> per layer (B, T*h/4*w/4, dim)."""
    if lq.shape[1] == 1:
        lq = lq.expand(-1, 5, -1, -1, -1)
    return lq_proj(upsample_lq(lq, scale))


def random_causal_window(num_chunks: int, generator: torch.Generator) -> int:
    """The official training vestige (reference §2.4): window length local_num = n, n-2, n-3 or n-4 chunks with
    probabilities 0.5 / 0.1 / 0.3 / 0.1, KV ratio U(0,1)^2 (local_num - 4) + 2; returned as the whole-clip
    causal window = int(kv_ratio) + 1 (see `attention.chunk_causal_mask`)."""
    u, v = torch.rand(2, generator=generator).tolist()
    cut = 0 if u < 0.5 else 2 if u < 0.6 else 3 if u < 0.9 else 4
    local_num = max(num_chunks - cut, 1)
    kv_ratio = v * v * max(local_num - 4, 0) + 2
    return int(kv_ratio) + 1


def causal_settings(cfg: FlashVSRConfig, num_chunks: int, generator: torch.Generator,
                    opts: StageOptions) -> AttentionSettings:  # fmt: skip
    """Block-sparse causal attention of stages 2-3 (preset sparsity, random window when enabled)."""
    window = random_causal_window(num_chunks, generator) if opts.random_window else int(cfg.kv_ratio) + 1
    return AttentionSettings.from_config(cfg, causal_window=window, backend=opts.backend)


def student_latents(parts: dict[str, nn.Module], lq: Tensor, t: int, gen: torch.Generator, opts: StageOptions,
                    context: Tensor, settings: AttentionSettings) -> Tensor:  # fmt: skip
    """One-step student prediction from unit noise at t = 1000: LR clips (B, 1 + 4T, C, h, w) -> latents
    (B, z, T, h*s/8, w*s/8)."""
    dit, lq_proj = parts["dit"], parts["lq_proj"]
    shape = (lq.shape[0], dit.cfg.in_dim, t, lq.shape[-2] * opts.scale // 8, lq.shape[-1] * opts.scale // 8)  # type: ignore[union-attr]
    noise = randn(shape, gen, lq)
    return dit.predict_x0(noise, context, lq=lq_tokens(lq_proj, lq, opts.scale), attention=settings)  # type: ignore[operator]


def zero_latents(tc: TCDecoder, lq: Tensor, t: int, scale: int) -> Tensor:
    """The decoder-only ablation's input: zeros shaped like the student's latents, (B, z, T, h*s/8, w*s/8) for LR
    clips (B, F, C, h, w); z is the TCDecoder's latent width (its input channels less the LR conditioning's)."""
    first = next(m for m in tc.decoder.modules() if isinstance(m, nn.Conv2d))
    z = first.in_channels - lq.shape[2] * math.prod(tc.cond_factors)
    return lq.new_zeros(lq.shape[0], z, t, lq.shape[-2] * scale // 8, lq.shape[-1] * scale // 8)


def full_settings(opts: StageOptions) -> AttentionSettings:
    """Full (dense) attention: the stage-1 teacher's regime."""
    return AttentionSettings(sparse_ratio=None, topk_ratio=None, local_range=None, backend=opts.backend)


def randn(shape: tuple[int, ...] | torch.Size, generator: torch.Generator, like: Tensor) -> Tensor:
    """Standard normal drawn on the CPU from `generator`, moved to like's device/dtype (device-independent)."""
    return torch.randn(tuple(shape), generator=generator).to(like.device, like.dtype)


# ------------------------------------------------------------------------------------------------------------------
# stage 0: autoencoder
# ------------------------------------------------------------------------------------------------------------------
def stage0_step(parts: dict[str, nn.Module], batch: PairBatch, gen: torch.Generator,
                opts: StageOptions) -> dict[str, Tensor]:  # fmt: skip
    """Reconstruction (L1 + MSE + lambda LPIPS when available) + KL + latent-moment penalty on GT clips and photos."""
    ae: TinyVideoAE = parts["ae"]  # type: ignore[assignment]
    terms: dict[str, list[Tensor]] = {"l1": [], "mse": [], "kl": [], "moments": [], "lpips": []}
    for gt in (batch.video_gt, batch.image_gt):
        if gt.shape[0] == 0:
            continue
        x = to_signed(gt).transpose(1, 2)  # (B, C, T, H, W)
        eps_gen = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        mu, logvar = ae.encode(x)
        z = mu + randn(mu.shape, eps_gen, mu) * torch.exp(0.5 * logvar)
        rec = ae.decode(z)
        terms["l1"].append((rec - x).abs().mean())
        terms["mse"].append((rec - x).pow(2).mean())
        kl, mom = latent_regulariser(mu.float(), logvar.float())
        terms["kl"].append(kl)
        terms["moments"].append(mom)
        if opts.lpips is not None:
            a = ((rec + 1) / 2).transpose(1, 2).flatten(0, 1)
            terms["lpips"].append(opts.lpips(a, gt.flatten(0, 1)))
    out = {k: torch.stack(v).mean() for k, v in terms.items() if v}
    loss = out["l1"] + out["mse"] + opts.kl_weight * out["kl"] + opts.moment_weight * out["moments"]
    if "lpips" in out:
        loss = loss + opts.lpips_weight * out["lpips"]
    return {"loss": loss, **out}


# ------------------------------------------------------------------------------------------------------------------
# stage 1: joint image-video flow matching, full attention, segment masks
# ------------------------------------------------------------------------------------------------------------------
def stage1_step(parts: dict[str, nn.Module], batch: PairBatch, gen: torch.Generator,
                opts: StageOptions, context: Tensor) -> dict[str, Tensor]:  # fmt: skip
    """Flow matching of the DiT + LQ projection on packed clips and photos (one noise level per sample)."""
    ae, dit, lq_proj = parts["ae"], parts["dit"], parts["lq_proj"]
    latents: list[Tensor] = []
    tokens: list[list[Tensor]] = []
    if batch.video_gt.shape[0]:
        t = video_layout(batch)
        z = encode(ae, batch.video_gt[:, : 4 * t - 3])  # type: ignore[arg-type]
        toks = lq_tokens(lq_proj, batch.video_lq, opts.scale)  # type: ignore[arg-type]
        latents += list(z)
        tokens += [list(x) for x in zip(*toks, strict=True)]
    if batch.image_gt.shape[0]:
        z = encode(ae, batch.image_gt)  # type: ignore[arg-type]
        toks = lq_tokens(lq_proj, batch.image_lq, opts.scale)  # type: ignore[arg-type]
        latents += list(z)
        tokens += [list(x) for x in zip(*toks, strict=True)]
    lengths = [z.shape[1] for z in latents]
    packing = plan_packing(lengths, opts.row_frames)
    sigmas = sample_sigmas(len(lengths), gen, opts.shift)
    seg, pos, sig = frame_layout(packing, lengths, sigmas.tolist())
    x0 = pack(latents, packing, frame_dim=1)  # (R, z, F, h, w)
    hw = x0.shape[-2] * x0.shape[-1] // (dit.patch_size[1] * dit.patch_size[2])  # type: ignore[union-attr]
    lq_rows = [
        pack([tok[layer].unflatten(0, (n, hw)) for tok, n in zip(tokens, lengths, strict=True)], packing, 0).flatten(
            1, 2
        )
        for layer in range(len(tokens[0]))
    ]
    noise = randn(x0.shape, gen, x0)
    s = sig.to(x0)[:, None, :, None, None]
    x_t, v = fm_noisy(x0, noise, s)
    pred = packed_forward(dit, x_t, context, timesteps=sig * 1000, segments=seg, positions=pos, lq=lq_rows)  # type: ignore[arg-type]
    loss = masked_mse(pred, v, seg.to(x0.device) >= 0)
    return {"loss": loss, "fm": loss.detach()}


# ------------------------------------------------------------------------------------------------------------------
# stage 2: block-sparse causal adaptation (videos only)
# ------------------------------------------------------------------------------------------------------------------
def stage2_step(parts: dict[str, nn.Module], batch: PairBatch, gen: torch.Generator,
                opts: StageOptions, context: Tensor) -> dict[str, Tensor]:  # fmt: skip
    """Flow matching with the causal LQ projection and block-sparse causal attention (random window)."""
    ae, dit, lq_proj = parts["ae"], parts["dit"], parts["lq_proj"]
    t = video_layout(batch)
    x0 = encode(ae, batch.video_gt[:, : 4 * t - 3])  # type: ignore[arg-type]
    lq = lq_tokens(lq_proj, batch.video_lq, opts.scale)  # type: ignore[arg-type]
    sig = sample_sigmas(x0.shape[0], gen, opts.shift).to(x0)
    settings = causal_settings(dit.cfg, t // 2, gen, opts)  # type: ignore[union-attr]
    noise = randn(x0.shape, gen, x0)
    x_t, v = fm_noisy(x0, noise, sig[:, None, None, None, None])
    pred = dit(x_t, context, timestep=sig * 1000, lq=lq, attention=settings)
    loss = F.mse_loss(pred.float(), v.float())
    return {"loss": loss, "fm": loss.detach(), "window": torch.tensor(float(settings.causal_window or 0))}


# ------------------------------------------------------------------------------------------------------------------
# stage 3: distribution matching distillation to one step
# ------------------------------------------------------------------------------------------------------------------
def stage3_step(parts: dict[str, nn.Module], batch: PairBatch, gen: torch.Generator,
                opts: StageOptions, context: Tensor) -> dict[str, Tensor]:  # fmt: skip
    """Student (sparse causal, one step from noise at t = 1000) vs frozen real score (stage 1, full attention)
    and a fake score (stage-1 copy) trained by flow matching on the student's latents; plus MSE (+ lambda LPIPS)
    on `pixel_latents` randomly chosen latents decoded by the stage-0 decoder (earlier latents detached)."""
    ae: TinyVideoAE = parts["ae"]  # type: ignore[assignment]
    dit = parts["dit"]
    real_dit, real_lq = parts["real_dit"], parts["real_lq"]
    fake_dit, fake_lq = parts["fake_dit"], parts["fake_lq"]
    t = video_layout(batch)
    gt = batch.video_gt[:, : 4 * t - 3]
    ref = batch.video_gt
    settings = causal_settings(dit.cfg, t // 2, gen, opts)  # type: ignore[union-attr]
    x0_pred = student_latents(parts, batch.video_lq, t, gen, opts, context, settings)  # type: ignore[arg-type]
    shape = x0_pred.shape
    full = full_settings(opts)
    # DMD gradient (no graph through the scores)
    sig = sample_sigmas(shape[0], gen, opts.shift, lo=0.02, hi=0.98).to(ref)[:, None, None, None, None]
    eps2 = randn(shape, gen, ref)
    with torch.no_grad():
        x_t, _ = fm_noisy(x0_pred.detach(), eps2, sig)
        ts = sig.flatten() * 1000
        x0_real = x_t - sig * real_dit(
            x_t, context, timestep=ts, lq=lq_tokens(real_lq, batch.video_lq, opts.scale), attention=full
        )  # type: ignore[arg-type]
        x0_fake = x_t - sig * fake_dit(
            x_t, context, timestep=ts, lq=lq_tokens(fake_lq, batch.video_lq, opts.scale), attention=full
        )  # type: ignore[arg-type]
    l_dmd = dmd_loss(x0_pred, dmd_gradient(x0_pred.detach(), x0_real, x0_fake))
    # fake score: flow matching on the student's (detached) latents
    sig2 = sample_sigmas(shape[0], gen, opts.shift).to(ref)[:, None, None, None, None]
    x_t2, v2 = fm_noisy(x0_pred.detach(), randn(shape, gen, ref), sig2)
    v_fake = fake_dit(
        x_t2,
        context,
        timestep=sig2.flatten() * 1000,
        lq=lq_tokens(fake_lq, batch.video_lq, opts.scale),
        attention=full,
    )  # type: ignore[arg-type]
    l_fake = F.mse_loss(v_fake.float(), v2.float())
    # pixel losses on a random subset of latents
    k = min(opts.pixel_latents, t)
    chosen = sorted(torch.randperm(t, generator=gen)[:k].tolist())
    keep = torch.zeros(t, dtype=torch.bool, device=ref.device)
    keep[chosen] = True
    lat = torch.where(keep[None, None, :, None, None], x0_pred, x0_pred.detach())[:, :, : chosen[-1] + 1]
    frames = (ae.decode(lat) + 1) / 2  # (B, 3, F, H, W)
    idx = [f for j in chosen for f in range(*TinyVideoAE.frames_of_latent(j))]
    pred_px = frames[:, :, idx].transpose(1, 2).flatten(0, 1).float()
    gt_px = gt[:, idx].flatten(0, 1).float()
    l_mse = F.mse_loss(pred_px, gt_px)
    loss = l_dmd + l_fake + opts.pixel_weight * l_mse
    out = {"dmd": l_dmd.detach(), "fake_fm": l_fake.detach(), "pix_mse": l_mse.detach()}
    if opts.lpips is not None:
        l_lp = opts.lpips(pred_px, gt_px)
        loss = loss + opts.pixel_weight * opts.lpips_weight * l_lp
        out["pix_lpips"] = l_lp.detach()
    return {"loss": loss, **out}


# ------------------------------------------------------------------------------------------------------------------
# TCDecoder
# ------------------------------------------------------------------------------------------------------------------
def sample_weights(batch: PairBatch, preset_weights: dict[str, float]) -> Tensor:
    """(videos + images,) loss weights, in the batch's sample order (its records: videos first), by preset."""
    n = batch.video_gt.shape[0] + batch.image_gt.shape[0]
    if not preset_weights:
        return torch.ones(n)
    if len(batch.records) != n:
        raise ValueError(f"preset_weights needs a degradation record per sample ({len(batch.records)} for {n})")
    return torch.tensor([float(preset_weights.get(r.get("preset", ""), 1.0)) for r in batch.records])


def decoder_step(parts: dict[str, nn.Module], batch: PairBatch, gen: torch.Generator,
                 opts: StageOptions, context: Tensor | None = None) -> dict[str, Tensor]:  # fmt: skip
    """TCDecoder: MSE (or, `decoder_loss`, L1 or the mean per-sample log MSE) (+ lambda LPIPS) against the GT and
    (weighted by `full_weight`) against the stage-0 (full) decoder on the same latents. Latents: the encoded GT
    (`decoder_latents="gt"`), or the frozen one-step
    student's prediction from the LR clip (`"student"`, what the decoder sees at inference; photos then enter as
    static clips of the video length, as the streaming pipeline feeds them), or zeros (`"zero"`, laid out as
    "student": the decoder-only ablation, a CNN on the LR frames alone)."""
    ae: TinyVideoAE | None = parts.get("ae")  # type: ignore[assignment]
    tc: TCDecoder = parts["tcdecoder"]  # type: ignore[assignment]
    groups: list[tuple[Tensor, Tensor, Tensor]] = []  # (gt, lq, latents (B, z, T, h, w))
    if opts.decoder_latents in ("student", "zero"):
        if opts.decoder_latents == "student" and (context is None or "dit" not in parts):
            raise ValueError("decoder_latents='student' needs the stage-3 student (dit, lq_proj) and its context")
        t = video_layout(batch) if batch.video_gt.shape[0] else 2
        n = 4 * t + 1
        pairs = [(batch.video_gt, batch.video_lq)] if batch.video_gt.shape[0] else []
        if batch.image_gt.shape[0]:
            pairs.append((batch.image_gt.expand(-1, n, -1, -1, -1), batch.image_lq.expand(-1, n, -1, -1, -1)))
        gt_all, lq_all = torch.cat([g for g, _ in pairs]), torch.cat([q for _, q in pairs])
        if opts.decoder_latents == "zero":
            z = zero_latents(tc, lq_all, t, opts.scale)
        else:
            cfg = parts["dit"].cfg  # type: ignore[union-attr]
            settings = AttentionSettings.from_config(cfg, causal_window=int(cfg.kv_ratio) + 1, backend=opts.backend)
            with torch.no_grad():
                z = student_latents(parts, lq_all, t, gen, opts, context, settings).float()  # type: ignore[arg-type]
        groups.append((gt_all[:, : 4 * t - 3], lq_all[:, : 4 * t - 3], z))
    elif opts.decoder_latents == "gt":
        if batch.video_gt.shape[0]:
            t = video_layout(batch)
            gt = batch.video_gt[:, : 4 * t - 3]
            groups.append((gt, batch.video_lq[:, : 4 * t - 3], encode(ae, gt)))  # type: ignore[arg-type]
        if batch.image_gt.shape[0]:
            groups.append((batch.image_gt, batch.image_lq, encode(ae, batch.image_gt)))  # type: ignore[arg-type]
    else:
        raise ValueError(f"decoder_latents must be 'gt', 'student' or 'zero', got '{opts.decoder_latents}'")
    terms: dict[str, list[Tensor]] = {"mse_gt": [], "l1_gt": [], "psnr_loss": [], "mse_full": [], "lpips_gt": [],
                                      "lpips_full": []}  # fmt: skip
    use_full = opts.full_weight > 0 or opts.decoder_latents == "gt"  # full_weight 0: no autoencoder needed
    per_sample: dict[str, list[Tensor]] = {"mse_gt": [], "l1_gt": [], "psnr_loss": []}  # every sample counts once
    for gt, lq, z in groups:
        y = tc(z.transpose(1, 2), upsample_lq(lq, opts.scale)).float()  # (B, T, C, H, W)
        err = y - gt.float()
        mse = err.pow(2).flatten(1).mean(1)
        per_sample["mse_gt"].append(mse)
        per_sample["l1_gt"].append(err.abs().flatten(1).mean(1))
        per_sample["psnr_loss"].append(10 * torch.log10(mse + opts.psnr_eps))
        if opts.lpips is not None:
            terms["lpips_gt"].append(opts.lpips(y.flatten(0, 1), gt.flatten(0, 1)))
        if use_full:
            with torch.no_grad():
                full = ((ae.decode(z) + 1) / 2).transpose(1, 2).float()  # type: ignore[union-attr]
            terms["mse_full"].append(F.mse_loss(y, full))
            if opts.lpips is not None:
                terms["lpips_full"].append(opts.lpips(y.flatten(0, 1), full.flatten(0, 1)))
    w = sample_weights(batch, opts.preset_weights).to(y.device)
    for k, v in per_sample.items():  # groups are in the batch's sample order (videos, then photos)
        terms[k].append((w * torch.cat(v)).sum() / w.sum().clamp_min(1e-12))
    out = {k: torch.stack(v).mean() for k, v in terms.items() if v}
    gt_terms = {"mse": "mse_gt", "l1": "l1_gt", "psnr": "psnr_loss"}
    if opts.decoder_loss not in gt_terms:
        raise ValueError(f"decoder_loss must be one of {', '.join(gt_terms)}, got '{opts.decoder_loss}'")
    gt_term = out[gt_terms[opts.decoder_loss]]
    loss = gt_term + opts.full_weight * out.get("mse_full", 0.0)
    if "lpips_gt" in out:
        loss = loss + opts.lpips_weight * (out["lpips_gt"] + opts.full_weight * out.get("lpips_full", 0.0))
    return {"loss": loss, **{k: v.detach() for k, v in out.items()}}


def copy_frozen(module: nn.Module) -> nn.Module:
    """A frozen deep copy (eval mode, no gradients): the real score of stage 3."""
    return copy.deepcopy(module).eval().requires_grad_(False)
