"""Benchmark datasets, each with its evaluation protocol, and loaders for the standard folder layouts.

    DATASETS.names()                                   # listing imports nothing heavy
    ds = get_dataset("reds4")
    ds.protocol                                        # scale, colour space, crop, frames, LQ source
    for clip in ds.clips(data_root="/data"):           # Clip(name, gt uint8 (T,H,W,C) or None, lq, ...)
        ...
    synthetic(ds, "realbasicvsr", seed=0)              # our degradation applied to the GT, seed + record kept
    get_dataset("samples").clips(lq="bi")              # embedded real media, the default set (no data root)
    user_dataset("mine", "/data/mine")                 # a user's folder: gt/ and/or lq/ of videos or frame folders

Folder datasets read PNG/JPG frame folders, one per clip, under `--data-root`; `verify()` checks the layout
first and names exactly what is missing in one line (DatasetError). The `samples` set needs no download.
`sources()` lists a dataset's clips without decoding them (`ClipSource`): a clip that fails to load (corrupt
file, frames of different sizes) fails alone, when the runner loads it, and becomes an error record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from vsrcore.errors import MediaError, UserFacingError
from vsrcore.registry import Registry, unknown_name
from vsrcore.samples import list_samples
from vsrcore.video.types import IMAGE_EXTS, VIDEO_EXTS


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


@dataclass(frozen=True)
class ClipSource:
    """A clip listed but not loaded: `load()` decodes it (and synthesises its LQ); a failure there is this clip's
    alone. `has_gt` and `lq_seed` are known without loading (the runner keys records on them)."""

    name: str
    load: Callable[[], Clip] = field(repr=False)
    has_gt: bool = True
    lq_seed: int | None = None


# frames of a frame folder, sorted by name; the registry layouts hold PNG/JPG, user folders any still image
FRAME_EXTS = tuple(sorted(IMAGE_EXTS))


def frame_files(folder: Path, exts: Sequence[str] = FRAME_EXTS) -> list[Path]:
    """The frame files of a frame folder, sorted by name (hidden files ignored)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in exts and not p.name.startswith("."))


def _stack_one_size(frames: Iterator[np.ndarray], where: Callable[[int], Path]) -> np.ndarray:
    out: list[np.ndarray] = []
    for i, f in enumerate(frames):
        if out and f.shape != out[0].shape:
            (h, w), (h0, w0) = f.shape[:2], out[0].shape[:2]
            raise MediaError(
                where(i), f"frame {i} is {w}x{h} but frame 0 is {w0}x{h0} (a clip's frames must share one size)"
            )
        out.append(f)
    if not out:
        raise MediaError(where(0), "no frames")
    return np.stack(out)


def read_clip(path: Path) -> tuple[np.ndarray, float]:
    """uint8 (T, H, W, C) frames and fps of a clip stored as a video file, one image, or a folder of frames (sorted
    by name, 25 fps). MediaError naming the file when it does not decode or its frames differ in size."""
    from vsrcore.video.write import read_image

    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise MediaError(path, f"no frames ({', '.join(FRAME_EXTS)}) in folder")
        return _stack_one_size((read_image(f) for f in files), lambda i: files[i]), 25.0
    if path.suffix.lower() in IMAGE_EXTS:
        return read_image(path)[None], 25.0
    from vsrcore.video.decode import iter_frames
    from vsrcore.video.probe import probe

    fps = probe(path).fps
    return _stack_one_size(iter_frames(path), lambda i: path), fps


def lq_preset(variant: str) -> str:
    """The degradation preset an LQ variant names ('bi' -> 'bicubic'; any registered preset name passes through)."""
    from degradation import PRESETS

    preset = SAMPLE_LQ.get(variant, variant)
    try:
        PRESETS.spec(preset)
    except KeyError as e:
        raise DatasetError(f"LQ variant: {e.args[0]} (aliases: {', '.join(SAMPLE_LQ)})") from None
    return preset


def synthesise(name: str, hr: np.ndarray, fps: float, preset: str, *, seed: int, clip_id: str, **options: Any) -> Clip:
    """A clip whose LQ is `hr` (uint8 (T, H, W, C), already mod-cropped) degraded by `preset` with `seed`; the
    reference is `hr` itself, never the preset's training target (RealBasicVSR's is USM-sharpened)."""
    from degradation.pipeline import degrade

    r = degrade(hr, preset, seed=seed, clip_id=clip_id, fps=fps, **options)
    return Clip(name, r.lq, hr, fps, seed, r.record)


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
        dirs = [root / self.lq_dir] + ([root / self.gt_dir] if self.gt_dir and self.gt_dir != self.lq_dir else [])
        missing = [str(d) for d in dirs if not d.is_dir()]
        if not missing:
            if not names:
                missing.append(f"{root / self.lq_dir}/<clip>/ (no clip folders)")
            for n in names:
                for d in dirs:
                    c = d / n
                    if not c.is_dir() or not frame_files(c, (".png", ".jpg", ".jpeg")):
                        missing.append(str(c))
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            gt_layout = f" + {self.gt_dir}/<clip>/*.png" if self.gt_dir and self.gt_dir != self.lq_dir else ""
            layout = f"{self.lq_dir}/<clip>/*.png{gt_layout}"
            raise DatasetError(
                f"dataset '{self.name}': missing {missing[0]}{more}; expected {layout} under {root} "
                f"(get it from {self.source})"
            )
        return names

    def lq_variants(self, requested: Sequence[str | None]) -> list[str | None]:
        """The LQ variants to run: only the dataset's own LQ (`--lq` applies to sets that synthesise theirs)."""
        return [None]

    def sources(self, data_root: str | Path | None = None, *, lq: str | None = None) -> list[ClipSource]:
        """The clips, after `verify`, each loaded (frames selected by the protocol) only when asked."""
        if lq is not None:
            raise DatasetError(f"dataset '{self.name}' has its own LQ ({self.protocol.lq_source}); got lq='{lq}'")
        root = Path(str(data_root))
        names = self.verify(data_root)
        return [ClipSource(n, lambda n=n: self._load(root, n), has_gt=self.gt_dir is not None) for n in names]

    def _load(self, root: Path, name: str) -> Clip:
        lq, fps = read_clip(root / self.lq_dir / name)
        if self.gt_dir is None:
            gt = None
        else:  # a GT-only view (lq_dir == gt_dir, the base of a synthetic set) decodes its frames once
            gt = lq if self.gt_dir == self.lq_dir else read_clip(root / self.gt_dir / name)[0]
            gt = select_frames(gt, self.protocol.frames)
        return Clip(name, select_frames(lq, self.protocol.frames), gt, fps)

    def clips(self, data_root: str | Path | None = None, *, lq: str | None = None) -> Iterator[Clip]:
        """Yield clips (frames selected by the protocol), after `verify`."""
        return (s.load() for s in self.sources(data_root, lq=lq))


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

    @property
    def gt_dir(self) -> str | None:
        """The base set's GT folder (all this variant reads)."""
        return getattr(self.base, "gt_dir", None)

    @property
    def source(self) -> str:
        """Where to get the base set."""
        return str(getattr(self.base, "source", ""))

    def verify(self, data_root: str | Path | None) -> Any:
        """The base set's layout check."""
        return self.base.verify(data_root)

    def lq_variants(self, requested: Sequence[str | None]) -> list[str | None]:
        """One LQ: the preset and seed this variant was made with."""
        return [None]

    def sources(self, data_root: str | Path | None = None, *, lq: str | None = None) -> list[ClipSource]:
        """The base set's clips, each degraded when loaded."""
        if self.base.protocol.has_gt is False:
            raise DatasetError(f"dataset '{self.base.name}' has no GT to degrade")
        return [
            ClipSource(s.name, lambda s=s: self._load(s), has_gt=True, lq_seed=self.seed)
            for s in self.base.sources(data_root)
        ]

    def _load(self, source: ClipSource) -> Clip:
        c = source.load()
        if c.gt is None:
            raise DatasetError(f"dataset '{self.base.name}' has no GT to degrade")
        gt = mod_crop(c.gt, self.base.protocol.scale)
        opts = {"scale": self.base.protocol.scale, **self.options}
        return synthesise(c.name, gt, c.fps, self.preset, seed=self.seed, clip_id=f"{self.base.name}/{c.name}", **opts)

    def clips(self, data_root: str | Path | None = None, **_: Any) -> Iterator[Clip]:
        """Yield the degraded clips."""
        return (s.load() for s in self.sources(data_root))


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

    def lq_variants(self, requested: Sequence[str | None]) -> list[str | None]:
        """The requested LQ variants ('bi' where none is named)."""
        return [v or "bi" for v in requested]

    def sources(self, data_root: str | Path | None = None, *, lq: str | None = "bi") -> list[ClipSource]:
        """Clips whose LQ the `lq` variant ('bi', 'bd' or 'realbasicvsr') makes when loaded."""
        lq = lq or "bi"
        if lq not in SAMPLE_LQ:
            raise DatasetError(f"samples LQ must be one of {', '.join(SAMPLE_LQ)}, got '{lq}'")
        preset = SAMPLE_LQ[lq]
        return [
            ClipSource(
                name,
                lambda name=name, hr=hr, fps=fps: synthesise(
                    name, hr, fps, preset, seed=self.seed, clip_id=f"samples/{name}", scale=self.scale
                ),
                has_gt=True,
                lq_seed=self.seed,
            )
            for name, hr, fps in self.hr_clips()
        ]

    def clips(self, data_root: str | Path | None = None, *, lq: str = "bi", **_: Any) -> Iterator[Clip]:
        """Clips with LQ made by the `lq` variant ('bi', 'bd' or 'realbasicvsr')."""
        return (s.load() for s in self.sources(data_root, lq=lq))


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


# ---------------------------------------------------------------- a user's own folder

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def check_name(name: str, what: str) -> str:
    """`name` when it is safe as a file name component (letters, digits, '._+-'); DatasetError otherwise."""
    if not _SAFE_NAME.fullmatch(name):
        raise DatasetError(f"{what} '{name}' must be letters, digits and '._+-' (it names folders of outputs)")
    return name


def _readable_name(path: Path) -> None:
    name = path.name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise DatasetError(f"{path.parent}/{name!r}: unreadable file name (not UTF-8)") from None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise DatasetError(f"{path.parent}/{name!r}: unreadable file name (control characters)")


def _header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a clip's header or first frame; None when unreadable (that clip fails alone, later)."""
    from PIL import Image

    from vsrcore.video.probe import probe

    try:
        if path.is_dir() or path.suffix.lower() in IMAGE_EXTS:
            with Image.open(frame_files(path)[0] if path.is_dir() else path) as im:
                return im.size
        m = probe(path)
        return m.width, m.height
    except (MediaError, OSError, IndexError):
        return None


@dataclass(frozen=True)
class UserDataset:
    """A user's folder of clips, `<root>/gt/<clip>` and/or `<root>/lq/<clip>`, each clip a video file, an image or a
    folder of frames, paired by clip name (file stem or folder name). Clips may differ in size.

    - gt/ and lq/: the given LQ scored against its GT (every clip on both sides; lq size x scale = gt size, the GT
      mod-cropped to the scale);
    - lq/ only: no-reference metrics only (reference metrics are recorded 'not-applicable' with the reason);
    - gt/ only: LQ synthesised from the GT by a degradation preset (each `--lq` variant; 'bi' when none) and `seed`,
      both recorded in every record.
    """

    name: str
    root: Path
    scale: int = 4
    seed: int = 0
    frames: str = "all"
    crop_border: int = 0

    @property
    def layout(self) -> str:
        """'gt+lq', 'lq' or 'gt' (what the folder holds)."""
        gt, lq = (self.root / "gt").is_dir(), (self.root / "lq").is_dir()
        return "gt+lq" if gt and lq else "gt" if gt else "lq"

    @property
    def protocol(self) -> Protocol:
        given = self.layout != "gt"
        return Protocol(
            scale=self.scale,
            space="rgb",
            crop_border=self.crop_border,
            frames=self.frames,
            lq_source="given (lq/)" if given else f"ours:--lq preset:seed={self.seed}",
            has_gt=self.layout != "lq",
            notes=f"user dataset ({self.layout})",
        )

    def _side(self, side: str) -> dict[str, Path]:
        from vsrcore.media_kind import media_kind
        from vsrcore.video.probe import link_problem

        folder = self.root / side
        clips: dict[str, Path] = {}
        for p in sorted(folder.iterdir(), key=lambda p: p.name):
            _readable_name(p)
            if p.name.startswith("."):
                continue
            problem = link_problem(p)
            if problem:
                raise DatasetError(f"{p}: {problem}")
            if p.is_dir():
                if not frame_files(p):
                    raise DatasetError(f"{p}: empty frame folder (no {', '.join(FRAME_EXTS)} frames)")
                clip = p.name
            elif p.suffix.lower() in VIDEO_EXTS | IMAGE_EXTS or media_kind(p) is not None:
                clip = p.stem  # an unusual extension (.gif, .ogv ...): the header decided
            else:
                raise DatasetError(f"{p}: not a video file, an image or a frame folder")
            if clip in clips:
                raise DatasetError(f"{p}: clip '{clip}' appears twice in {folder} (also {clips[clip].name})")
            clips[clip] = p
        if not clips:
            raise DatasetError(f"{folder}: empty folder (no clips: video files, images or frame folders)")
        return clips

    def verify(self, data_root: str | Path | None = None) -> dict[str, tuple[Path | None, Path | None]]:
        """clip name -> (gt path or None, lq path or None), after checking the layout; DatasetError naming the first
        problem otherwise (a clip whose header is unreadable passes here and fails alone when loaded)."""
        where = f"dataset '{self.name}'"
        if not self.root.is_dir():
            raise DatasetError(f"{where}: {self.root} is not a folder")
        if not (self.root / "gt").is_dir() and not (self.root / "lq").is_dir():
            raise DatasetError(
                f"{where}: {self.root} has neither gt/ nor lq/ (expected gt/<clip> and/or lq/<clip>, each clip a "
                "video file, an image or a folder of frames)"
            )
        gt = self._side("gt") if (self.root / "gt").is_dir() else {}
        lq = self._side("lq") if (self.root / "lq").is_dir() else {}
        if gt and lq:
            for clip, path in lq.items():
                if clip not in gt:
                    raise DatasetError(f"{path}: lq clip with no gt partner (expected {self.root / 'gt'}/{clip}.*)")
            for clip, path in gt.items():
                if clip not in lq:
                    raise DatasetError(f"{path}: gt clip with no lq partner (expected {self.root / 'lq'}/{clip}.*)")
            for clip, path in lq.items():
                ls, gs = _header_size(path), _header_size(gt[clip])
                if ls and gs and (gs[0] // self.scale, gs[1] // self.scale) != ls:
                    raise DatasetError(
                        f"{path}: {ls[0]}x{ls[1]} is not the gt size {gs[0]}x{gs[1]} / scale {self.scale} "
                        f"(= {gs[0] // self.scale}x{gs[1] // self.scale}); set the scale with --set scale=N"
                    )
        return {c: (gt.get(c), lq.get(c)) for c in sorted(gt.keys() | lq.keys())}

    def lq_variants(self, requested: Sequence[str | None]) -> list[str | None]:
        """gt/ only: the requested LQ presets ('bi' where none is named); otherwise the given LQ."""
        if self.layout != "gt":
            return [None]
        return list(dict.fromkeys(v or "bi" for v in requested))

    def sources(self, data_root: str | Path | None = None, *, lq: str | None = None) -> list[ClipSource]:
        """The clips after `verify`, each decoded (and, for gt/ only, degraded with the `lq` preset) when loaded."""
        pairs = self.verify()
        if self.layout == "gt":
            preset = lq_preset(lq or "bi")
            return [
                ClipSource(c, lambda c=c, g=g: self._synthesised(c, g, preset), True, self.seed)
                for c, (g, _) in pairs.items()
            ]
        if lq is not None:
            raise DatasetError(f"dataset '{self.name}' has its own LQ (lq/); got lq='{lq}'")
        return [
            ClipSource(c, lambda c=c, g=g, q=q: self._given(c, g, q), g is not None) for c, (g, q) in pairs.items()
        ]

    def _given(self, name: str, gt_path: Path | None, lq_path: Path) -> Clip:
        lq, fps = read_clip(lq_path)
        gt = None
        if gt_path is not None:
            gt = mod_crop(read_clip(gt_path)[0], self.scale)
            if len(gt) != len(lq):
                raise MediaError(lq_path, f"{len(lq)} frames but its gt partner {gt_path.name} has {len(gt)}")
            if gt.shape[1:3] != (lq.shape[1] * self.scale, lq.shape[2] * self.scale):
                raise MediaError(
                    lq_path,
                    f"frames are {lq.shape[2]}x{lq.shape[1]}, not the gt size {gt.shape[2]}x{gt.shape[1]} "
                    f"/ scale {self.scale}",
                )
            gt = select_frames(gt, self.frames)
        return Clip(name, select_frames(lq, self.frames), gt, fps)

    def _synthesised(self, name: str, gt_path: Path, preset: str) -> Clip:
        from degradation.pipeline import DegradationError, check_size

        hr, fps = read_clip(gt_path)
        try:  # on the decoded size: mod-cropping a 1x1 frame would leave 0x0 and hide what the file holds
            check_size(hr.shape[1], hr.shape[2], self.scale)
        except DegradationError as e:
            raise MediaError(gt_path, str(e)) from None
        hr = select_frames(mod_crop(hr, self.scale), self.frames)
        return synthesise(name, hr, fps, preset, seed=self.seed, clip_id=f"{self.name}/{name}", scale=self.scale)

    def clips(self, data_root: str | Path | None = None, *, lq: str | None = None) -> Iterator[Clip]:
        """Yield the loaded clips."""
        return (s.load() for s in self.sources(lq=lq))


USER_OPTIONS = ("scale", "seed", "frames", "crop_border")


def user_dataset(name: str, root: str | Path, **options: Any) -> UserDataset:
    """A `UserDataset` from `--dataset NAME=DIR` and `--set KEY=VALUE` options (scale, seed, frames, crop_border),
    checked: DatasetError for a bad name or value, a name the registry already uses, or an unknown option."""
    check_name(name, "dataset name")
    if name in DATASETS:
        raise DatasetError(f"dataset name '{name}' is a registered dataset; pick another name for {root}")
    for key in options:
        if key not in USER_OPTIONS:
            raise DatasetError(unknown_name("dataset option (--set)", key, list(USER_OPTIONS)))
    try:
        scale, seed = int(options.get("scale", 4)), int(options.get("seed", 0))
        crop = int(options.get("crop_border", 0))
    except ValueError as e:
        raise DatasetError(f"dataset option: {e}") from None
    frames = str(options.get("frames", "all"))
    if scale < 1 or crop < 0:
        raise DatasetError(f"dataset '{name}': scale must be >= 1 and crop_border >= 0 (got {scale}, {crop})")
    try:
        select_frames(np.zeros((1, 1, 1, 3), np.uint8), frames)
    except ValueError as e:
        raise DatasetError(f"dataset '{name}': {e}") from None
    return UserDataset(name, Path(root), scale=scale, seed=seed, frames=frames, crop_border=crop)


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

# FlashVSR Table 1 "REDS": the REDS30 GT degraded by the RealBasicVSR pipeline (no such LQ is published, so ours,
# seed 0, recorded per record); needs only REDS/val_sharp (the base is a GT-only view of reds30).
_TABLE["reds30+realbasicvsr"] = SyntheticDataset(
    replace(_TABLE["reds30"], lq_dir=_TABLE["reds30"].gt_dir), "realbasicvsr", seed=0
)

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
    "DATASETS", "DEFAULT_DATASET", "Clip", "ClipSource", "DatasetError", "FolderDataset", "Protocol",
    "SamplesDataset", "SyntheticDataset", "UserDataset", "center_crop", "get_dataset", "mod_crop", "read_clip",
    "select_frames", "synthetic", "user_dataset",
]  # fmt: skip
