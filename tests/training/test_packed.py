"""Packing: segment masks keep samples apart; a packed row equals each sample run alone."""

from __future__ import annotations

import torch

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.transformer import AttentionSettings, WanDiT
from training.packed import frame_layout, pack, packed_forward, plan_packing, segment_mask, unpack


def _dit() -> WanDiT:
    torch.manual_seed(0)
    return WanDiT(FlashVSRConfig.from_name("tiny")).double().eval()


def test_plan_packing_first_fit() -> None:
    p = plan_packing([2, 1, 1, 1, 3], row_frames=4)
    assert p.rows == [[(4, 0), (1, 3)], [(0, 0), (2, 2), (3, 3)]]
    x = [torch.full((1, n), float(i)) for i, n in enumerate([2, 1, 1, 1, 3])]
    rows = pack(x, p, frame_dim=1)
    assert rows.shape == (2, 1, 4)
    assert [t.tolist() for t in unpack(rows, p, [2, 1, 1, 1, 3])] == [t.tolist() for t in x]


def test_segment_mask_is_block_diagonal() -> None:
    m = segment_mask(torch.tensor([[0, 0, 1, -1]]), tokens_per_frame=2)[0, 0]
    assert m.shape == (8, 8)
    assert m[:4, :4].all() and not m[:4, 4:].any() and m[4:6, 4:6].all() and not m[4:6, 6:].any()


def test_segment_masks_block_cross_sample_attention() -> None:
    dit, cfg = _dit(), FlashVSRConfig.from_name("tiny")
    ctx = torch.randn(1, 16, cfg.text_dim, dtype=torch.float64)
    video, img1, img2 = (torch.randn(16, n, 16, 16, dtype=torch.float64) for n in (2, 1, 1))
    lengths, sig = [2, 1, 1], [0.3, 0.6, 0.9]
    packing = plan_packing(lengths, row_frames=4)
    seg, pos, s = frame_layout(packing, lengths, sig)
    x = pack([video, img1, img2], packing, frame_dim=1)
    out = packed_forward(dit, x, ctx, timesteps=s * 1000, segments=seg, positions=pos)
    # changing another sample in the same row leaves this sample's output unchanged
    x2 = pack([video, img1 + 5.0, img2], packing, frame_dim=1)
    out2 = packed_forward(dit, x2, ctx, timesteps=s * 1000, segments=seg, positions=pos)
    a, b = unpack(out, packing, lengths), unpack(out2, packing, lengths)
    assert torch.allclose(a[0], b[0], atol=1e-12) and torch.allclose(a[2], b[2], atol=1e-12)
    assert not torch.allclose(a[1], b[1])
    # the packed video equals the video alone through WanDiT.forward (full attention)
    full = AttentionSettings(sparse_ratio=None, local_range=None)
    alone = dit(video[None], ctx, timestep=torch.tensor([300.0]), attention=full)[0]
    assert torch.allclose(a[0], alone, atol=1e-10)
