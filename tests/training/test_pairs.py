"""Stored degraded pairs: made with the training chain, read back, cut from the same items, passed through."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.data import Degrader, SampleSpec, VSRTrainDataset, list_media, load_frames
from training.make_pairs import main as make_pairs_main
from training.make_pairs import make_pairs
from training.pairs import load_lq, read_pairs
from vsrcore.errors import UserFacingError


@pytest.fixture(scope="module")
def bicubic_pairs(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pairs")
    make_pairs(media_dir, out, preset="bicubic", photos=2, clips=3, frames=5, crop=32)
    return out


def test_a_pair_is_the_chain_applied_to_its_recorded_crop(media_dir: Path, bicubic_pairs: Path) -> None:
    pairs = read_pairs(bicubic_pairs)
    assert [p.kind for p in pairs].count("image") == 4 and [p.kind for p in pairs].count("clip") == 3
    items = {it.id: it for it in list_media(media_dir, split=None)}
    for p in pairs:
        frames = load_frames(items[p.item], p.start, p.frames)[:, p.top : p.top + 32, p.left : p.left + 32]
        gt = torch.from_numpy(frames.copy()).permute(0, 3, 1, 2)[None].float() / 255
        lq, _, _ = Degrader("bicubic", 4, 0, target="source").degrade(gt, [p.pair])
        stored = torch.from_numpy(load_lq(p)).permute(0, 3, 1, 2).float() / 255
        assert stored.shape == (p.frames, 3, 8, 8)
        assert (stored - lq[0]).abs().max() <= 0.5 / 255 + 1e-6  # uint8 rounding only
    again = make_pairs(media_dir, bicubic_pairs.parent / "again", preset="bicubic", photos=2, clips=3, frames=5,
                       crop=32)  # fmt: skip
    assert [(p.item, p.start, p.top, p.left) for p in again] == [(p.item, p.start, p.top, p.left) for p in pairs]


def test_the_dataset_serves_stored_pairs_and_the_degrader_passes_them_through(
    media_dir: Path, bicubic_pairs: Path
) -> None:
    items = list_media(media_dir, split=None)
    spec = SampleSpec(clip_frames=5, crop=32)
    ds = VSRTrainDataset(items, spec=spec, videos=1, images=2, pairs=read_pairs(bicubic_pairs), pair_share=1.0)
    samples = [ds[i] for i in range(3)]
    assert all("lq" in s for s in samples)
    by_name = {p.pair: p for p in read_pairs(bicubic_pairs)}
    for s in samples:
        p = by_name[s["params"]["pair"]]
        want = torch.from_numpy(load_frames({it.id: it for it in items}[p.item], p.start, p.frames).copy())
        want = want.permute(0, 3, 1, 2)[..., p.top : p.top + 32, p.left : p.left + 32]
        lq = torch.from_numpy(load_lq(p)).permute(0, 3, 1, 2)
        if s["params"]["flip"]:
            want, lq = want.flip(-1), lq.flip(-1)
        assert torch.equal(s["frames"], want) and torch.equal(s["lq"], lq)
    batch = Degrader("realbasicvsr", 4, 0, target="source")(samples)
    assert batch.video_lq.shape == (1, 5, 3, 8, 8) and batch.image_lq.shape == (2, 1, 3, 8, 8)
    assert all(r["preset"] == "bicubic" and r["stored_pair"] for r in batch.records)  # not re-degraded

    mixed = VSRTrainDataset(items, spec=spec, videos=1, images=2, pairs=read_pairs(bicubic_pairs), pair_share=0.5)
    kinds = ["lq" in mixed[i] for i in range(60)]
    assert 10 < sum(kinds) < 50
    plain = VSRTrainDataset(items, spec=spec, videos=1, images=2)
    unused = VSRTrainDataset(items, spec=spec, videos=1, images=2, pairs=read_pairs(bicubic_pairs))
    assert all(torch.equal(plain[i]["frames"], unused[i]["frames"]) for i in range(6))  # share 0: same draws


def test_bad_pairs_are_one_line_errors(media_dir: Path, bicubic_pairs: Path, tmp_path: Path) -> None:
    items = list_media(media_dir, split=None)
    pairs = read_pairs(bicubic_pairs)
    with pytest.raises(UserFacingError, match="training takes 9 frame"):
        VSRTrainDataset(items, spec=SampleSpec(clip_frames=9, crop=32), pairs=pairs)
    with pytest.raises(UserFacingError, match="not in the data"):
        VSRTrainDataset([it for it in items if it.kind == "clip"], spec=SampleSpec(clip_frames=5, crop=32),
                        pairs=pairs)  # fmt: skip
    with pytest.raises(UserFacingError, match="fraction"):
        VSRTrainDataset(items, spec=SampleSpec(clip_frames=5, crop=32), pairs=pairs, pair_share=2.0)
    with pytest.raises(UserFacingError, match="no pairs table"):
        read_pairs(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    table = (bicubic_pairs / "pairs.tsv").read_text().splitlines()
    name = table[1].split("\t")[-1]
    (bad / "pairs.tsv").write_text("\n".join([table[0], table[1].replace(name, "../" + name)]) + "\n")
    with pytest.raises(UserFacingError, match="is not in"):
        read_pairs(bad)
    assert make_pairs_main([str(media_dir), str(tmp_path / "odd"), "--crop", "30", "--preset", "bicubic"]) == 2


def test_train_cli_takes_stored_pairs(media_dir: Path, tmp_path: Path) -> None:
    from vsrcore.cli import main

    pairs = tmp_path / "pairs"
    make_pairs(media_dir, pairs, preset="bicubic", photos=1, clips=2, frames=9, crop=16)
    run = tmp_path / "run"
    args = ["train", "--stage", "decoder", "--data", str(media_dir), "--out", str(run), "--split", "all", "--steps",
            "2", "--latents", "2", "--degradation", "bicubic", "--workers", "0", "--lpips", "off", "--images", "1",
            "--crop", "16", "--set", 'decoder_latents="zero"', "--set", "full_weight=0", "--set",
            "model.tc_channels=[16,8,8,8]", "--quiet", "--pairs", str(pairs), "--pair-share", "0.5"]  # fmt: skip
    assert main(args) == 0
    assert main([*args[:-4], "--pair-share", "0.5"]) == 2  # a share without pairs is refused
