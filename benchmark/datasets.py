"""Benchmark datasets, each with its evaluation protocol, and loaders for the standard folder layouts.

    DATASETS.names()                                   # listing imports nothing heavy
    ds = get_dataset("reds4")
    ds.protocol                                        # scale, colour space, crop, frames, LQ source
    for clip in ds.clips(data_root="/data"):           # Clip(name, gt uint8 (T,H,W,C) or None, lq, ...)
        ...
    synthetic(ds, "realbasicvsr", seed=0)              # our degradation applied to the GT, seed + record kept
    get_dataset("samples").clips(lq="bi")              # embedded real media, the default set (no data root)

Folder datasets read PNG/JPG frame folders, one per clip, under `--data-root`; `verify()` checks the layout
first and names exactly what is missing in one line (DatasetError). The `samples` set needs no download.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from vsrcore.errors import UserFacingError
from vsrcore.registry import Registry
from vsrcore.samples import list_samples


class DatasetError(UserFacingError):
    """A dataset folder that is absent or does not have the expected layout."""


@dataclass(frozen=True)
class Protocol:
    """How a dataset is scored. `frames`: 'all', 'center' or 'first:N'; `space`: 'rgb' or 'y' (BT.601)."""

    scale: int = 4
    space: str = "rgb"
    crop_border: int = 0
    frames: str = "all"
    lq_source: str = "official"
    has_gt: bool = True
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Clip:
    """One clip: uint8 (T, H, W, C) frames. `record` is the degradation record of a synthetic LQ (else None)."""

    name: str
    lq: np.ndarray
    gt: np.ndarray | None
    fps: float = 25.0
    lq_seed: int | None = None
    record: dict[str, Any] | None = None


def select_frames(frames: np.ndarray, spec: str) -> np.ndarray:
    """Frames used by a protocol: 'all', 'center' (the middle frame) or 'first:N'."""
    if spec == "all":
        return frames
    if spec == "center":
        mid = frames.shape[0] // 2
        return frames[mid : mid + 1]
    if spec.startswith("first:"):
        return frames[: int(spec.split(":", 1)[1])]
    raise ValueError(f"unknown frames spec '{spec}' (all, center, first:N)")


def mod_crop(frames: np.ndarray, mod: int) -> np.ndarray:
    """Crop (T, H, W, C) so H and W are multiples of `mod` (bottom/right pixels removed, as BasicSR)."""
    h, w = frames.shape[1:3]
    return frames[:, : h - h % mod, : w - w % mod]


def center_crop(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre crop (T, H, W, C) to at most height x width."""
    h, w = frames.shape[1:3]
    th, tw = min(h, height), min(w, width)
    top, left = (h - th) // 2, (w - tw) // 2
    return frames[:, top : top + th, left : left + tw]


@dataclass(frozen=True)
class FolderDataset:
    """A dataset stored as frame folders: `<data_root>/<gt_dir>/<clip>/*.png` and `<data_root>/<lq_dir>/<clip>/`.

    `clip_names` (when known) are verified one by one; otherwise every sub-folder of the LQ folder is a clip.
    """

    name: str
    protocol: Protocol
    lq_dir: str
    gt_dir: str | None = None
    clip_names: tuple[str, ...] = ()
    source: str = ""

    def _clip_names(self, root: Path) -> list[str]:
        if self.clip_names:
            return list(self.clip_names)
        lq = root / self.lq_dir
        return sorted(p.name for p in lq.iterdir() if p.is_dir()) if lq.is_dir() else []

    def verify(self, data_root: str | Path | None) -> list[str]:
        """Clip names, after checking every expected folder exists and holds frames; DatasetError otherwise."""
        if data_root is None:
            raise DatasetError(f"dataset '{self.name}' needs --data-root (get it from {self.source})")
        root = Path(data_root)
        names = self._clip_names(root)
        dirs = [root / self.lq_dir] + ([root / self.gt_dir] if self.gt_dir else [])
        missing = [str(d) for d in dirs if not d.is_dir()]
        if not missing:
            if not names:
                missing.append(f"{root / self.lq_dir}/<clip>/ (no clip folders)")
            for n in names:
                for d in dirs:
                    c = d / n
                    if not c.is_dir() or not any(p.suffix.lower() in (".png", ".jpg", ".jpeg") for p in c.iterdir()):
                        missing.append(str(c))
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            layout = f"{self.lq_dir}/<clip>/*.png" + (f" + {self.gt_dir}/<clip>/*.png" if self.gt_dir else "")
            raise DatasetError(
                f"dataset '{self.name}': missing {missing[0]}{more}; expected {layout} under {root} "
                f"(get it from {self.source})"
            )
        return names

    def clips(self, data_root: str | Path | None = None, **_: Any) -> Iterator[Clip]:
        """Yield clips (frames selected by the protocol), after `verify`."""
        from vsrcore.video.write import read_image_sequence

        root = Path(data_root) if data_root is not None else None
        for n in self.verify(data_root):
            assert root is not None
            lq = select_frames(read_image_sequence(root / self.lq_dir / n), self.protocol.frames)
            gt = None
            if self.gt_dir:
                gt = select_frames(read_image_sequence(root / self.gt_dir / n), self.protocol.frames)
            yield Clip(n, lq, gt)


@dataclass(frozen=True)
class SyntheticDataset:
    """Another dataset's GT degraded by one of our presets with a fixed seed (the record travels with each clip)."""

    base: Any
    preset: str
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.base.name}+{self.preset}"

    @property
    def protocol(self) -> Protocol:
        return replace(self.base.protocol, lq_source=f"ours:{self.preset}:seed={self.seed}")

    def clips(self, data_root: str | Path | None = None, **kw: Any) -> Iterator[Clip]:
        from degradation.pipeline import degrade

        for c in self.base.clips(data_root, **kw):
            if c.gt is None:
                raise DatasetError(f"dataset '{self.base.name}' has no GT to degrade")
            gt = mod_crop(c.gt, self.base.protocol.scale)
            opts = {"scale": self.base.protocol.scale, **self.options}
            r = degrade(gt, self.preset, seed=self.seed, clip_id=f"{self.base.name}/{c.name}", fps=c.fps, **opts)
            yield Clip(c.name, r.lq, r.gt, c.fps, self.seed, r.record)


def synthetic(base: Any, preset: str, seed: int = 0, **options: Any) -> SyntheticDataset:
    """A synthetic variant of `base` made with a degradation preset and seed."""
    from degradation import PRESETS

    PRESETS.spec(preset)
    return SyntheticDataset(base, preset, seed, dict(options))


# ---------------------------------------------------------------- samples: embedded real media, the default

# the held-out split of the sample media (vsrcore.samples.HELDOUT): training never reads these
SAMPLE_VIDEOS = tuple(s.name for s in list_samples("video", split="heldout"))
SAMPLE_PHOTOS = tuple(s.name for s in list_samples("image", split="heldout"))
SAMPLE_LQ = {"bi": "bicubic", "bd": "bd", "realbasicvsr": "realbasicvsr"}


@dataclass(frozen=True)
class SamplesDataset:
    """The embedded sample media: HR = the first `frames` frames of each sample video (centre-cropped to at most
    `video_size`, mod-cropped to the scale) and sample photos as 1-frame clips (centre crop `photo_size`);
    LQ = fixed-seed BI, BD or realbasicvsr via `degradation.degrade`; the reference is always the source HR.
    Small enough to score in seconds on CPU."""

    name: str = "samples"
    frames: int = 16
    video_size: tuple[int, int] = (272, 480)
    photo_size: tuple[int, int] = (256, 256)
    seed: int = 0
    scale: int = 4

    @property
    def protocol(self) -> Protocol:
        return Protocol(
            scale=self.scale,
            space="rgb",
            crop_border=0,
            frames=f"first:{self.frames}",
            lq_source=f"ours:bi|bd|realbasicvsr:seed={self.seed}",
            notes="held-out embedded sample media (vsrcore.samples.HELDOUT); HR centre-cropped and mod-cropped",
        )

    def hr_clips(self) -> list[tuple[str, np.ndarray, float]]:
        """(name, uint8 (T, H, W, C) HR, fps) for every available sample."""
        return _hr_clips(self.frames, self.video_size, self.photo_size, self.scale)

    def clips(self, data_root: str | Path | None = None, *, lq: str = "bi", **_: Any) -> Iterator[Clip]:
        """Clips with LQ made by the `lq` variant ('bi', 'bd' or 'realbasicvsr')."""
        from degradation.pipeline import degrade

        if lq not in SAMPLE_LQ:
            raise DatasetError(f"samples LQ must be one of {', '.join(SAMPLE_LQ)}, got '{lq}'")
        for name, hr, fps in self.hr_clips():
            r = degrade(hr, SAMPLE_LQ[lq], seed=self.seed, clip_id=f"samples/{name}", fps=fps, scale=self.scale)
            # the reference is the source HR, never the preset's training target (RealBasicVSR's is USM-sharpened)
            yield Clip(name, r.lq, hr, fps, self.seed, r.record)


@cache
def _hr_clips(
    frames: int, video_size: tuple[int, int], photo_size: tuple[int, int], scale: int
) -> list[tuple[str, np.ndarray, float]]:
    from vsrcore.samples import get_sample
    from vsrcore.video.decode import read_frames

    out = []
    for name in SAMPLE_VIDEOS:
        s = get_sample(name)
        if not s.available():
            continue
        hr = read_frames(s.path(), end=frames)
        fps = float(dict(s.expected).get("fps", 25.0))  # type: ignore[arg-type]
        out.append((name, mod_crop(center_crop(hr, *video_size), scale), fps))
    for name in SAMPLE_PHOTOS:
        s = get_sample(name)
        if not s.available():
            continue
        from PIL import Image

        img = np.asarray(Image.open(s.path()).convert("RGB"))[None]
        out.append((name, mod_crop(center_crop(img, *photo_size), scale), 25.0))
    if not out:
        raise DatasetError("no sample media available; run: pip install 'flashvsr[samples]'")
    for _, hr, _ in out:
        hr.setflags(write=False)
    return out


# ---------------------------------------------------------------- the table

DATASETS = Registry("dataset")
_DOVE = "DOVE's Google Drive test sets (zhengchen1999/DOVE README)"


def _folder(name: str, **kw: Any) -> FolderDataset:
    return FolderDataset(name=name, **kw)


_TABLE: dict[str, Any] = {
    "samples": SamplesDataset(),
    "reds4": _folder(
        "reds4",
        protocol=Protocol(4, "rgb", 0, "all", "official BIx4 (MATLAB bicubic)", notes="BasicSR/mmagic: RGB, crop 0"),
        gt_dir="REDS/train_sharp",
        lq_dir="REDS/train_sharp_bicubic/X4",
        clip_names=("000", "011", "015", "020"),
        source="https://seungjunnah.github.io/Datasets/reds.html",
    ),
    "reds30": _folder(
        "reds30",
        protocol=Protocol(4, "rgb", 0, "all", "official BIx4", notes="REDS val 000-029; in training for some peers"),
        gt_dir="REDS/val_sharp",
        lq_dir="REDS/val_sharp_bicubic/X4",
        clip_names=tuple(f"{i:03d}" for i in range(30)),
        source="https://seungjunnah.github.io/Datasets/reds.html",
    ),
    "udm10": _folder(
        "udm10",
        protocol=Protocol(4, "y", 0, "all", "published LQ (DOVE, RealBasicVSR degradation)"),
        gt_dir="UDM10/GT",
        lq_dir="UDM10/LQ",
        clip_names=(
            "archpeople",
            "archwall",
            "auditorium",
            "band",
            "caffe",
            "camera",
            "clap",
            "lake",
            "photography",
            "polyflow",
        ),  # fmt: skip
        source=_DOVE,
    ),
    "spmcs": _folder(
        "spmcs",
        protocol=Protocol(
            4,
            "y",
            0,
            "all",
            "published LQ (DOVE, RealBasicVSR degradation)",
            notes="original authors score the centre frame only (frames='center')",
        ),
        gt_dir="SPMCS/GT",
        lq_dir="SPMCS/LQ",
        source=_DOVE,
    ),
    "vid4": _folder(
        "vid4",
        protocol=Protocol(4, "y", 0, "all", "official BIx4"),
        gt_dir="Vid4/GT",
        lq_dir="Vid4/BIx4",
        clip_names=("calendar", "city", "foliage", "walk"),
        source="mmagic Vid4 (configs/basicvsr_pp README)",
    ),
    "vid4-bd": _folder(
        "vid4-bd",
        protocol=Protocol(4, "y", 0, "all", "official BDx4 (Gaussian sigma 1.6)"),
        gt_dir="Vid4/GT",
        lq_dir="Vid4/BDx4",
        clip_names=("calendar", "city", "foliage", "walk"),
        source="mmagic Vid4 (configs/basicvsr_pp README)",
    ),
    "youhq40": _folder(
        "youhq40",
        protocol=Protocol(4, "rgb", 0, "all", "published LQ (DOVE/UAV, RealBasicVSR degradation)"),
        gt_dir="YouHQ40/GT",
        lq_dir="YouHQ40/LQ",
        source=_DOVE + "; Upscale-A-Video Google Drive",
    ),
    "videolq": _folder(
        "videolq",
        protocol=Protocol(4, "rgb", 0, "all", "real (no GT)", has_gt=False, notes="no-reference metrics only"),
        lq_dir="VideoLQ/LQ",
        source="RealBasicVSR README (Dropbox/GDrive/OneDrive); " + _DOVE,
    ),
    "realvsr": _folder(
        "realvsr",
        protocol=Protocol(1, "rgb", 0, "all", "real (iPhone multi-camera)", notes="LQ and GT same size: x1"),
        gt_dir="RealVSR/GT",
        lq_dir="RealVSR/LQ",
        source="IanYeung/RealVSR README; " + _DOVE,
    ),
    "mvsr4x": _folder(
        "mvsr4x",
        protocol=Protocol(1, "rgb", 0, "all", "real (ultra-wide -> telephoto)", notes="evaluated at x1 as DOVE"),
        gt_dir="MVSR4x/GT",
        lq_dir="MVSR4x/LQ",
        source="HITRainer/EAVSR (Baidu); " + _DOVE,
    ),
}

for _name, _ds in _TABLE.items():
    _p = _ds.protocol
    DATASETS.add(
        _name,
        "benchmark.datasets:get_dataset",
        kwargs={"name": _name},
        scale=_p.scale,
        space=_p.space,
        crop_border=_p.crop_border,
        frames=_p.frames,
        lq_source=_p.lq_source,
        has_gt=_p.has_gt,
        needs_data_root=_name != "samples",
    )


def get_dataset(name: str) -> Any:
    """The dataset object called `name` (KeyError with suggestions when unknown)."""
    DATASETS.spec(name)
    return _TABLE[name]


DEFAULT_DATASET = "samples"
__all__ = [
    "DATASETS", "DEFAULT_DATASET", "Clip", "DatasetError", "FolderDataset", "Protocol", "SamplesDataset",
    "SyntheticDataset", "center_crop", "get_dataset", "mod_crop", "select_frames", "synthetic",
]  # fmt: skip
