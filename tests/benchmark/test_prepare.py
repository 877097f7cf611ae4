"""`flashvsr prepare-data`: fake official downloads (zips and folders of tiny PNGs, made here) -> registry layout."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.datasets import DatasetError, get_dataset
from benchmark.prepare import RECIPES, prepare
from vsrcore.cli import main
from vsrcore.untrusted import UnsafeMember


def _png(path: Path, size: int = 8, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


def _clips(folder: Path, names, frames: int = 2, size: int = 8) -> None:
    for i, name in enumerate(names):
        for t in range(frames):
            _png(folder / name / f"{t:08d}.png", size, seed=i * 10 + t)


def _zip(folder: Path, zip_path: Path) -> Path:
    """Zip every file under `folder`, member names relative to it (as the official archives store them)."""
    with zipfile.ZipFile(zip_path, "w") as zf:
        for p in sorted(folder.rglob("*")):
            zf.write(p, p.relative_to(folder).as_posix())
    return zip_path


def reds30_zips(tmp: Path, *, lq: bool = True, clips: int = 30) -> list[Path]:
    """val_sharp.zip (val/val_sharp/NNN/*.png) and val_sharp_bicubic.zip (val/val_sharp_bicubic/X4/NNN/*.png)."""
    names = [f"{i:03d}" for i in range(clips)]
    _clips(tmp / "src_gt" / "val" / "val_sharp", names, size=16)
    out = [_zip(tmp / "src_gt", tmp / "val_sharp.zip")]
    if lq:
        _clips(tmp / "src_lq" / "val" / "val_sharp_bicubic" / "X4", names, size=4)
        out.append(_zip(tmp / "src_lq", tmp / "val_sharp_bicubic.zip"))
    return out


def test_every_registry_folder_set_has_a_recipe() -> None:
    from benchmark.datasets import DATASETS

    assert set(RECIPES) == set(DATASETS.names()) - {"samples", "vid4-bd", "reds30+realbasicvsr"}


def test_reds30_from_the_official_zips_links_and_verifies(tmp_path: Path) -> None:
    root = tmp_path / "data"
    lines = prepare("reds30", reds30_zips(tmp_path), root)
    gt, lq = root / "REDS" / "val_sharp", root / "REDS" / "val_sharp_bicubic" / "X4"
    assert gt.is_symlink() and lq.is_symlink()
    assert not Path(gt.readlink()).is_absolute()  # under the data root: relative, the folder can move
    assert gt.resolve() == (root / ".downloads" / "val_sharp" / "val" / "val_sharp").resolve()
    assert get_dataset("reds30").verify(root) == [f"{i:03d}" for i in range(30)]
    assert len(lines) == 2 and all("->" in line for line in lines)
    record = (root / ".prepared" / "reds30.json").read_text()
    assert '"clips": 30' in record and '"frames": 60' in record

    # idempotent: nothing re-extracted, nothing re-linked
    frame = root / ".downloads" / "val_sharp" / "val" / "val_sharp" / "000" / "00000000.png"
    before = frame.stat().st_mtime_ns
    lines2 = prepare("reds30", [tmp_path / "val_sharp.zip", tmp_path / "val_sharp_bicubic.zip"], root)
    assert all(line.endswith("already in place") for line in lines2)
    assert frame.stat().st_mtime_ns == before


def test_reds30_without_the_bi_zip_is_ready_for_the_paper_variant(tmp_path: Path) -> None:
    root = tmp_path / "data"
    lines = prepare("reds30", reds30_zips(tmp_path, lq=False), root)
    assert (root / "REDS" / "val_sharp").is_symlink()
    assert not (root / "REDS" / "val_sharp_bicubic").exists()
    assert any("reds30+realbasicvsr" in line for line in lines)
    paper = get_dataset("reds30+realbasicvsr")
    assert paper.verify(root) == [f"{i:03d}" for i in range(30)]
    with pytest.raises(DatasetError, match="val_sharp_bicubic"):
        get_dataset("reds30").verify(root)
    (source, *_) = paper.sources(root)
    clip = source.load()
    assert clip.gt.shape == (2, 16, 16, 3) and clip.lq.shape == (2, 4, 4, 3)
    assert clip.lq_seed == 0 and clip.record is not None


def test_missing_part_is_one_line_listing_it_and_nothing_is_linked(tmp_path: Path) -> None:
    zips = reds30_zips(tmp_path)
    root = tmp_path / "data"
    with pytest.raises(DatasetError) as e:
        prepare("reds30", [zips[1]], root)  # the LQ zip only
    msg = str(e.value)
    assert "\n" not in msg
    assert "val_sharp (GT)" in msg and "val_sharp.zip" in msg
    assert not (root / "REDS").exists()
    # the extracted LQ stays: the next run with both zips does not extract it again
    stamp = root / ".downloads" / "val_sharp_bicubic" / ".extracted.json"
    assert stamp.is_file()
    before = stamp.stat().st_mtime_ns
    prepare("reds30", zips, root)
    assert stamp.stat().st_mtime_ns == before


def test_missing_clips_and_frame_mismatch_are_listed(tmp_path: Path) -> None:
    names = RECIPES["udm10"].parts[0].clips
    dl = tmp_path / "UDM10"
    _clips(dl / "GT", names[:-1])  # polyflow missing
    _clips(dl / "LQ", names)
    with pytest.raises(DatasetError, match="clips polyflow missing"):
        prepare("udm10", [dl], tmp_path / "data")

    vid4 = tmp_path / "dl" / "Vid4"
    _clips(vid4 / "GT", ("calendar", "city", "foliage", "walk"), frames=3)
    _clips(vid4 / "BIx4", ("calendar", "city", "foliage", "walk"), frames=3)
    (vid4 / "BIx4" / "walk" / "00000002.png").unlink()
    with pytest.raises(DatasetError, match="clip walk: 3 GT frames but 2 LQ frames"):
        prepare("vid4", [tmp_path / "dl"], tmp_path / "data")


def test_dove_layout_zip_with_a_wrapper_folder_and_a_folder_download(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _clips(src / "SPMCS" / "GT", [f"clip{i:02d}" for i in range(30)], size=16)
    _clips(src / "SPMCS" / "LQ", [f"clip{i:02d}" for i in range(30)], size=4)
    _clips(src / "SPMCS" / "LQ-Video-not-frames", [])  # other DOVE folders are ignored
    root = tmp_path / "data"
    prepare("spmcs", [_zip(src, tmp_path / "SPMCS.zip")], root)
    assert len(get_dataset("spmcs").verify(root)) == 30

    vid4 = tmp_path / "dl" / "Vid4"
    _clips(vid4 / "GT", ("calendar", "city", "foliage", "walk"))
    _clips(vid4 / "BIx4", ("calendar", "city", "foliage", "walk"))
    lines = prepare("vid4", [tmp_path / "dl"], root)
    assert (root / "Vid4" / "GT").resolve() == (vid4 / "GT").resolve()
    assert Path((root / "Vid4" / "GT").readlink()).is_absolute()  # outside the data root: absolute link
    assert any("BDx4 LQ not found" in line for line in lines)
    assert get_dataset("vid4").verify(root) == ["calendar", "city", "foliage", "walk"]


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_hostile_zip_members_are_refused_before_anything_is_written(tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "val_sharp.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("val/val_sharp/000/00000000.png", b"x")
        if kind == "dotdot":
            zf.writestr("../../evil.png", b"x")
        elif kind == "absolute":
            zf.writestr("/tmp/evil.png", b"x")
        else:
            info = zipfile.ZipInfo("val/val_sharp/001")
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc")
    root = tmp_path / "data"
    with pytest.raises(UnsafeMember, match="refused"):
        prepare("reds30", [bad], root)
    assert not (root / ".downloads" / "val_sharp" / "val").exists()
    assert not (tmp_path / "evil.png").exists()


def test_interrupted_extraction_resumes(tmp_path: Path) -> None:
    zips = reds30_zips(tmp_path)
    root = tmp_path / "data"
    prepare("reds30", zips, root)
    # as if killed mid-way: no stamp, one member gone, one truncated
    dest = root / ".downloads" / "val_sharp"
    (dest / ".extracted.json").unlink()
    (dest / "val" / "val_sharp" / "007" / "00000001.png").unlink()
    truncated = dest / "val" / "val_sharp" / "008" / "00000000.png"
    truncated.write_bytes(truncated.read_bytes()[:10])
    prepare("reds30", zips, root)
    assert (dest / ".extracted.json").is_file()
    assert get_dataset("reds30").clips(root).__next__().gt.shape == (2, 16, 16, 3)
    assert Image.open(truncated).size == (16, 16)


def test_cli_prepare_data(tmp_path: Path, capsys) -> None:
    zips = reds30_zips(tmp_path)
    root = tmp_path / "data"
    assert main(["prepare-data", "reds30", "--from", str(zips[1]), "--data-root", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing val_sharp (GT)" in err
    args = ["prepare-data", "reds30", "--from", str(zips[0]), "--from", str(zips[1]), "--data-root", str(root)]
    assert main(args) == 0
    assert "reds30 ready under" in capsys.readouterr().out
    assert main(["prepare-data", "reds31", "--from", str(zips[0]), "--data-root", str(root)]) == 2
    assert "reds30" in capsys.readouterr().err
