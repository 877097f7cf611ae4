"""Training data: clips and photos from VSR shards or plain folders, random crops, on-the-fly degradation.

Every draw of sample `index` (which item, where to start, where to crop, whether to flip) comes from
`vsrcore.rng.for_item(seed, f"sample/{index}")`, and the degradation of a sample from (seed, its sample id), so a
batch depends only on (seed, step): any number of workers, any resume point, the same data.

Layout of one optimisation step (`batch_layout`): `videos` clips of `clip_frames` = 4T + 1 HR frames (T latent
frames; the LQ projection needs 1 + 4T LR frames, the autoencoder's target is the first 4T - 3) and `images`
photos as 1-frame videos. `collate_and_degrade` returns a `PairBatch`:

    video_gt (Bv, 4T+1, C, H, W), video_lq (Bv, 4T+1, C, H/s, W/s), image_gt (Bi, 1, C, H, W),
    image_lq (Bi, 1, C, H/s, W/s), all float32 [0, 1].

Packing images with videos into shared rows is done in latent space by `training.packed.pack_segments`.
"""

from __future__ import annotations

import functools
import io
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from training.pairs import Pair
from vsrcore.errors import UserFacingError
from vsrcore.limits import check_frame_size
from vsrcore.rng import for_item
from vsrcore.video.types import IMAGE_EXTS, VIDEO_EXTS


@dataclass(frozen=True)
class MediaItem:
    """One clip or photo: `source` is a shard directory (member read from its tar) or a file path."""

    id: str
    kind: str  # "clip" | "image"
    source: str
    member: str | None
    frames: int
    split: str = "train"


FRAMES_SUFFIX = ".frames"  # in a plain folder, `<name>.frames/` holding PNG/JPG frames (sorted by name) is one clip


def frame_files(folder: str | Path) -> list[Path]:
    """The frames of a `<name>.frames` clip folder, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_EXTS)


def list_media(data: str | Path | Sequence[str | Path], split: str | None = "train") -> list[MediaItem]:
    """Items of VSR shard directories (filtered to `split`; None = all) and/or plain folders of videos, photos and
    `<name>.frames/` frame folders (clips readable without PyAV), which have no split: all their files are used.
    Sorted by id, so the list does not depend on disk order."""
    roots = [data] if isinstance(data, (str, Path)) else list(data)
    items: list[MediaItem] = []
    for root in map(Path, roots):
        if (root / "manifest.parquet").exists():
            from vsrcore.shards import ShardReader

            df = ShardReader(root).manifest()
            if split is not None:
                df = df[df["split"] == split]
            for row in df.to_dict("records"):
                kind = "image" if row["kind"] == "image" else "clip"
                n = 1 if kind == "image" else int(row["frame_count"])
                items.append(MediaItem(str(row["id"]), kind, str(root), str(row["member"]), n, str(row["split"])))
        elif root.is_dir() or root.is_file():
            items += _folder_items(root)
        else:
            raise UserFacingError(f"{root}: not a VSR shard directory, folder or media file")
    return sorted(items, key=lambda it: (it.kind, it.id))


def _folder_items(root: Path) -> list[MediaItem]:
    """The videos and photos of a plain folder (or one file). An unusual extension (.gif, .ogv, none) is decided
    by the file's header, so an animated GIF is a clip; a photo's declared size is checked against the pixel cap
    here (header only), so a decompression bomb is refused by name before training starts. MediaError (one line
    naming the file) for a file that cannot be read; UserFacingError for a folder without any media."""
    from vsrcore.media_kind import media_kind
    from vsrcore.video.image import check_declared_size
    from vsrcore.video.probe import count_frames

    items: list[MediaItem] = []
    files = sorted(q for q in (root.rglob("*") if root.is_dir() else [root]) if q.is_file())
    clip_dirs = {p.parent for p in files if p.parent.name.endswith(FRAMES_SUFFIX)}
    for d in sorted(clip_dirs):  # NAME.frames/ holds one clip as image files (read without PyAV)
        items.append(MediaItem(d.name.removesuffix(FRAMES_SUFFIX), "clip", str(d), None, len(frame_files(d)), "all"))
    for p in files:
        if p.parent in clip_dirs:
            continue
        ext = p.suffix.lower()
        kind = "image" if ext in IMAGE_EXTS else "video" if ext in VIDEO_EXTS else media_kind(p)
        if kind == "image":
            check_declared_size(p)
            items.append(MediaItem(p.stem, "image", str(p), None, 1, "all"))
        elif kind == "video":
            items.append(MediaItem(p.stem, "clip", str(p), None, count_frames(p), "all"))
    if not items:
        raise UserFacingError(f"{root}: no video or image files to train on")
    return items


def decode_image(data: bytes, name: str) -> np.ndarray:
    """uint8 RGB (H, W, C) of an encoded photo; `name` is what errors call it."""
    from vsrcore.video.image import decode_image

    return decode_image(data, name=name)  # pixel cap checked from the header first; gray and palette -> RGB


def _decode_clip(data: bytes | str, start: int, count: int, name: str) -> np.ndarray:
    """Frames start .. start+count-1 (uint8 RGB (count, H, W, C)) of a video (bytes or path) or a `.frames` folder;
    short clips repeat their last frame. `name` is what errors call the clip; corrupt data is a MediaError naming
    it."""
    if isinstance(data, str) and Path(data).is_dir():
        shots = [decode_image(f.read_bytes(), str(f)) for f in frame_files(data)[start : start + count]]
        if not shots:
            from vsrcore.errors import MediaError

            raise MediaError(name, f"no frame at or after frame {start}")
        return np.stack(shots + [shots[-1]] * (count - len(shots)))
    import av

    from vsrcore.errors import MediaError

    src = io.BytesIO(data) if isinstance(data, bytes) else data
    frames: list[np.ndarray] = []
    index = -1
    try:
        with av.open(src) as container:
            ctx = container.streams.video[0].codec_context
            check_frame_size(name, ctx.width, ctx.height)
            for index, frame in enumerate(container.decode(video=0)):
                if index >= start:
                    frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) == count:
                    break
    except av.error.FFmpegError as e:
        raise MediaError(name, f"decoding failed after {index + 1} frames ({e.strerror or e})") from None
    if not frames:
        raise MediaError(name, f"no frame decoded at or after frame {start} ({index + 1} decoded)")
    while len(frames) < count:
        frames.append(frames[-1])
    return np.stack(frames)


@dataclass
class SampleSpec:
    """What one sample is: a clip of `clip_frames` frames or a photo, cropped to `crop` x `crop`.

    `rescale` (lo, hi): each sample's source is first rescaled by a factor drawn log-uniformly from it (a
    crop / factor window resized to crop x crop, antialiased bicubic): < 1 packs more detail into the crop (a
    2560-pixel photo looks like a video frame), > 1 makes a soft source (the blurry footage a real corpus holds),
    so the model also learns when not to sharpen. (1, 1) = off.
    """

    clip_frames: int = 17
    crop: int = 128
    flip: bool = True
    rescale: tuple[float, float] = (1.0, 1.0)


class VSRTrainDataset(torch.utils.data.Dataset):
    """Map-style dataset of HR crops: `dataset[i]` -> dict(id, kind, frames uint8 (T, C, crop, crop), params).

    Index i is a *sample* index: `batch_layout` decides whether slot i of a step is a clip or a photo, and the
    item, start frame, crop box and flip are drawn from (seed, i). Media bytes are cached per worker (LRU).
    """

    def __init__(
        self,
        items: Sequence[MediaItem],
        *,
        spec: SampleSpec | None = None,
        videos: int = 1,
        images: int = 0,
        seed: int = 0,
        length: int = 1 << 30,
        cache_items: int = 32,
        pairs: Sequence[Pair] = (),
        pair_share: float = 0.0,
    ) -> None:
        self.clips = [it for it in items if it.kind == "clip"]
        self.photos = [it for it in items if it.kind == "image"]
        self.spec = spec or SampleSpec()
        self._by_id = {it.id: it for it in items}
        self.pairs = self._check_pairs(pairs)
        if not 0.0 <= pair_share <= 1.0:
            raise UserFacingError(f"--pair-share {pair_share}: need a fraction in [0, 1]")
        self.pair_share = pair_share
        self.videos, self.images = videos, images
        if videos and not self.clips:
            if not self.photos:
                raise UserFacingError("the data has no video clips or photos (for a shard folder: check --split)")
            shown = ", ".join(_label(it) for it in self.photos[:3])
            more = f" and {len(self.photos) - 3} more" if len(self.photos) > 3 else ""
            raise UserFacingError(
                f"the data has no video clips, only {len(self.photos)} photo(s) ({shown}{more}), but the batch "
                f"layout asks for {videos} video(s) per step (--videos); train on photos with --videos 0 --images N"
            )
        if images and not self.photos and not self.clips:
            raise UserFacingError("the data has no video clips or photos")
        self.seed, self.length = seed, length
        self._cache: OrderedDict[str, bytes | str] = OrderedDict()
        self._cache_items = cache_items

    def __len__(self) -> int:
        return self.length

    def _check_pairs(self, pairs: Sequence[Pair]) -> dict[str, list[Pair]]:
        """Stored pairs by kind; each must name an item of the data, match the crop and, for clips, the frames."""
        by_kind: dict[str, list[Pair]] = {"clip": [], "image": []}
        for p in pairs:
            if p.item not in self._by_id:
                raise UserFacingError(f"{p.lq}: pair {p.pair!r} is of item {p.item!r}, which is not in the data")
            want = self.spec.clip_frames if p.kind == "clip" else 1
            if p.size != self.spec.crop or p.frames != want or p.kind not in by_kind:
                raise UserFacingError(f"{p.lq}: pair {p.pair!r} is a {p.kind} of {p.frames} frame(s) at {p.size} px; "
                                      f"training takes {want} frame(s) at {self.spec.crop} px")  # fmt: skip
            by_kind[p.kind].append(p)
        return by_kind

    @property
    def per_step(self) -> int:
        return self.videos + self.images

    def kind_of(self, index: int) -> str:
        """'clip' or 'image' for sample `index` (slots 0..videos-1 of each step are clips)."""
        return "clip" if index % self.per_step < self.videos else "image"

    def _media(self, item: MediaItem) -> bytes | str:
        key = f"{item.source}:{item.member}"
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        data = read_media(item)
        self._cache[key] = data
        while len(self._cache) > self._cache_items:
            self._cache.popitem(last=False)
        return data

    def __getitem__(self, index: int) -> dict[str, Any]:
        try:
            return self._sample(index)
        except UserFacingError as e:
            if torch.utils.data.get_worker_info() is None:
                raise
            # in a DataLoader worker: torch would re-raise it in the trainer as exc_type(message + the worker's
            # traceback); handed over as data, the trainer raises the one line (`StepLoader`)
            return {"error": str(e)}

    def _sample(self, index: int) -> dict[str, Any]:
        rng = for_item(self.seed, f"sample/{index}")
        kind = self.kind_of(index)
        spec = self.spec
        given = self.pairs[kind]
        if given and self.pair_share > 0 and rng.random() < self.pair_share:
            return self._pair(index, kind, given[int(rng.integers(len(given)))], rng)
        if kind == "clip":
            item = self.clips[int(rng.integers(len(self.clips)))]
            n = spec.clip_frames
            start = int(rng.integers(max(item.frames - n, 0) + 1))
            frames = decode_media(item, self._media(item), start, n)
        else:
            pool = self.photos or self.clips  # no photos: a single frame of a clip
            item = pool[int(rng.integers(len(pool)))]
            start = int(rng.integers(item.frames)) if item.kind == "clip" else 0
            frames = decode_media(item, self._media(item), start, 1)
        t = torch.from_numpy(np.array(frames, copy=True)).permute(0, 3, 1, 2)  # (T, C, H, W) uint8
        lo, hi = spec.rescale
        factor = 1.0 if lo == hi == 1.0 else float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        t, box = random_crop(t, max(1, round(spec.crop / factor)), rng)
        if t.shape[-1] != spec.crop:
            x = torch.nn.functional.interpolate(t.float(), size=(spec.crop, spec.crop), mode="bicubic", antialias=True)
            t = x.round().clamp(0, 255).to(torch.uint8)
        flip = bool(spec.flip and rng.random() < 0.5)
        if flip:
            t = t.flip(-1)
        return {
            "id": f"s{index}",
            "kind": kind,
            "frames": t.contiguous(),
            "params": {"item": item.id, "start": start, "crop": box, "flip": flip, "rescale": factor},
        }

    def _pair(self, index: int, kind: str, pair: Pair, rng: np.random.Generator) -> dict[str, Any]:
        """Sample `index` as a stored pair: the GT cut from its item by the recorded box, the LQ as stored."""
        from training.pairs import load_lq

        item = self._by_id[pair.item]
        frames = decode_media(item, self._media(item), pair.start, pair.frames)
        box = (slice(None), slice(pair.top, pair.top + pair.size), slice(pair.left, pair.left + pair.size))
        gt = torch.from_numpy(np.array(frames[box], copy=True)).permute(0, 3, 1, 2)
        lq = torch.from_numpy(load_lq(pair)).permute(0, 3, 1, 2)
        if gt.shape[-2:] != (pair.size, pair.size):
            raise UserFacingError(f"{pair.lq}: its box lies outside {_label(item)}")
        flip = bool(self.spec.flip and rng.random() < 0.5)
        if flip:
            gt, lq = gt.flip(-1), lq.flip(-1)
        params = {"item": item.id, "start": pair.start, "crop": (pair.top, pair.left, 1.0), "flip": flip,
                  "pair": pair.pair, "preset": pair.preset}  # fmt: skip
        return {"id": f"s{index}", "kind": kind, "frames": gt.contiguous(), "lq": lq.contiguous(), "params": params}


def read_media(item: MediaItem) -> bytes | str:
    """An item's encoded data (a clip file or frame folder is returned as its path)."""
    if item.member is None:
        return item.source if item.kind == "clip" else Path(item.source).read_bytes()
    from vsrcore.shards import ShardReader

    return ShardReader(item.source).read_member(item.id)


def decode_media(item: MediaItem, data: bytes | str, start: int, count: int) -> np.ndarray:
    """Frames start .. start+count-1 of an item as uint8 (T, H, W, C); a photo is one frame."""
    if item.kind == "clip":
        return _decode_clip(data, start, count, _label(item))
    return decode_image(data, _label(item))[None]  # type: ignore[arg-type]


def load_frames(item: MediaItem, start: int, count: int) -> np.ndarray:
    """`decode_media` of the item read from its source (no cache)."""
    return decode_media(item, read_media(item), start, count)


def _label(item: MediaItem) -> str:
    """What an error calls the item: its file, or its shard folder and item id."""
    return item.source if item.member is None else f"{item.source}: item '{item.id}'"


def random_crop(frames: Tensor, size: int, rng: np.random.Generator) -> tuple[Tensor, tuple[int, int, float]]:
    """Random `size` x `size` crop of uint8 frames (T, C, H, W); frames smaller than `size` are first resized up
    (bilinear, aspect kept). Returns the crop and (top, left, resize factor)."""
    h, w = frames.shape[-2:]
    factor = max(size / h, size / w, 1.0)
    if factor > 1.0:
        nh, nw = max(size, round(h * factor)), max(size, round(w * factor))
        x = torch.nn.functional.interpolate(frames.float(), size=(nh, nw), mode="bilinear", align_corners=False)
        frames = x.round().clamp(0, 255).to(torch.uint8)
        h, w = nh, nw
    top, left = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
    return frames[..., top : top + size, left : left + size], (top, left, float(factor))


@dataclass
class PairBatch:
    """One step's data (float32 [0, 1]); shapes in the module docstring. `records`: degradation records."""

    video_gt: Tensor
    video_lq: Tensor
    image_gt: Tensor
    image_lq: Tensor
    ids: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def to(self, device: torch.device | str) -> PairBatch:
        return PairBatch(
            *(t.to(device, non_blocking=True) for t in (self.video_gt, self.video_lq, self.image_gt, self.image_lq)),
            ids=self.ids,
            records=self.records,
        )


DegradeFn = Callable[..., tuple[Tensor, Tensor, list[dict[str, Any]]]]


def default_degrade_fn() -> DegradeFn:
    """`degradation.torch_ops.degrade_batch` (the batched torch path)."""
    from degradation.torch_ops import degrade_batch

    return degrade_batch


@dataclass
class Degrader:
    """Collate function: stacks samples and degrades them with a registered preset (x`scale`) on `device`.

    `preset` may list several presets ("realbasicvsr,bicubic"): each sample then draws one from (seed, sample id).
    Each sample is degraded from (seed, sample id) with its own plan. The target is the GT returned by the
    preset (`target="preset"`; RealBasicVSR's sharpens it with USM) or the source crop itself (`"source"`).
    Picklable, so it runs inside DataLoader workers.
    """

    preset: str = "realbasicvsr"
    scale: int = 4
    seed: int = 0
    device: str = "cpu"
    fps: float = 25.0
    target: str = "preset"

    def degrade(self, clips: Tensor, ids: list[str]) -> tuple[Tensor, Tensor, list[dict[str, Any]]]:
        """clips (B, T, C, H, W) float [0, 1] -> lq (B, T, C, H/s, W/s), gt (B, T, C, H, W), records."""
        h, w = clips.shape[-2:]
        lq = clips.new_zeros(*clips.shape[:3], h // self.scale, w // self.scale)
        gt, records = clips.clone(), [{} for _ in ids]
        presets = [p.strip() for p in self.preset.split(",") if p.strip()]
        chosen = [presets[int(for_item(self.seed, i, stream="preset").integers(len(presets)))] for i in ids]
        for preset in dict.fromkeys(chosen):
            idx = [k for k, p in enumerate(chosen) if p == preset]
            out_lq, out_gt, rec = default_degrade_fn()(
                clips[idx].to(self.device), preset, seed=self.seed, clip_ids=[ids[k] for k in idx], fps=self.fps,
                scale=self.scale,
            )  # fmt: skip
            lq[idx], gt[idx] = out_lq.to(lq).clamp(0, 1), out_gt.to(gt).clamp(0, 1)
            for k, r in zip(idx, rec, strict=True):
                records[k] = r
        return lq, (clips if self.target == "source" else gt), records

    def _group(self, group: list[dict[str, Any]], t: int, size: int) -> tuple[Tensor, Tensor, list, list]:
        """Degrade the samples of one kind; stored pairs (a sample with "lq") pass through, after the others.
        Returns lq, gt, records and the samples in that order."""

        def stack(key: str, some: list[dict[str, Any]], side: int) -> Tensor:
            if not some:
                return torch.zeros(0, t, 3, side, side)
            return torch.stack([s[key] for s in some]).float() / 255.0

        made, given = [s for s in group if "lq" not in s], [s for s in group if "lq" in s]
        lq, gt, records = self.degrade(stack("frames", made, size), [s["id"] for s in made])
        if given:
            lq = torch.cat([lq, stack("lq", given, size // self.scale)])
            gt = torch.cat([gt, stack("frames", given, size)])
            records += [{"preset": s["params"]["preset"], "stored_pair": s["params"]["pair"]} for s in given]
        return lq, gt, records, made + given

    def __call__(self, samples: list[dict[str, Any]]) -> PairBatch | SampleError:
        errors = [s["error"] for s in samples if "error" in s]
        if errors:
            return SampleError(errors[0])
        vids = [s for s in samples if s["kind"] == "clip"]
        imgs = [s for s in samples if s["kind"] == "image"]
        size = samples[0]["frames"].shape[-1]
        vlq, vgt, vrec, vids = self._group(vids, vids[0]["frames"].shape[0] if vids else 1, size)
        ilq, igt, irec, imgs = self._group(imgs, 1, size)
        ids = [s["id"] for s in vids] + [s["id"] for s in imgs]
        records = [{**r, "sample": s["params"]} for r, s in zip(vrec + irec, vids + imgs, strict=True)]
        return PairBatch(vgt, vlq, igt, ilq, ids, records)


@dataclass(frozen=True)
class SampleError:
    """A sample that a DataLoader worker could not load: the one-line message (see `StepLoader`)."""

    message: str


class StepLoader(torch.utils.data.DataLoader):
    """A DataLoader that raises a worker's bad-input error in the trainer as the one line it was (UserFacingError)."""

    def __iter__(self):  # noqa: ANN204
        for batch in super().__iter__():
            if isinstance(batch, SampleError):
                raise UserFacingError(batch.message)
            yield batch


class StepSampler(torch.utils.data.Sampler):
    """Sample indices in step order from `start_step` on: step k gets indices k*per_step .. (k+1)*per_step - 1.
    With DDP, rank r of world w takes steps' samples strided so ranks never share a sample."""

    def __init__(self, per_step: int, start_step: int = 0, steps: int = 1 << 30, rank: int = 0, world: int = 1):
        self.per_step, self.start, self.steps, self.rank, self.world = per_step, start_step, steps, rank, world

    def __iter__(self):  # noqa: ANN204
        for step in range(self.start, self.steps):
            base = (step * self.world + self.rank) * self.per_step
            yield from range(base, base + self.per_step)

    def __len__(self) -> int:
        return max(self.steps - self.start, 0) * self.per_step


def _worker_init(parent: tuple[int, bool], worker_id: int) -> None:
    """A DataLoader worker dies with the trainer (the kernel's SIGKILL on the parent's death: a killed trainer's
    workers would otherwise print ConnectionResetError tracebacks from their queues) and leaves Ctrl-C to it."""
    import signal

    from vsrcore.guard import die_with_parent

    die_with_parent(*parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_loader(
    dataset: VSRTrainDataset,
    degrader: Degrader,
    *,
    start_step: int = 0,
    steps: int,
    workers: int = 0,
    rank: int = 0,
    world: int = 1,
) -> torch.utils.data.DataLoader:
    """A DataLoader yielding one `PairBatch` per step (deterministic for any `workers`). Its worker processes end
    with the trainer, silently, even when it is killed with `kill -9` (`_worker_init`)."""
    from vsrcore.guard import die_with_parent_args

    sampler = StepSampler(dataset.per_step, start_step, steps, rank, world)
    return StepLoader(
        dataset,
        worker_init_fn=functools.partial(_worker_init, die_with_parent_args()) if workers > 0 else None,
        batch_size=dataset.per_step,
        sampler=sampler,
        collate_fn=degrader,
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=2 if workers > 0 else None,
    )
