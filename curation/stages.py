"""Pipeline stages: a dataclass (its fields are its config), `setup()` once per worker, `process(item)`.

Items are plain JSON-friendly dicts; paths flow through the pipeline, never video bytes. `process` returns
an item, a list of items (fan-out) or None (drop). An item whose `status` is not "ok" passes through later
stages untouched. Exceptions are not caught here: the executor turns them into quarantine rows.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from curation.config import CurationConfig
from vsrcore.hashing import make_id


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs (the Ray executor maps this onto tasks or actors)."""

    cpus: float = 1.0
    gpus: float = 0.0
    actor: bool = False  # models loaded once per worker: run as an actor pool


@dataclass
class Stage:
    """Base stage."""

    name: ClassVar[str] = "stage"
    resources: ClassVar[Resources] = Resources()

    def setup(self) -> None:
        """Load models or open resources, once per worker."""

    def process(self, item: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]] | None:  # pragma: no cover
        raise NotImplementedError


def reject(item: dict[str, Any], stage: str, reason: str) -> dict[str, Any]:
    """Mark an item as filtered out by a rule (not an error)."""
    return {**item, "status": "rejected", "stage": stage, "reason": reason}


@dataclass
class ProbeStage(Stage):
    """Probe of a video: header for size and codec, packets (demuxed, not decoded) for the frame count and
    duration; rejects by resolution, duration and codec rules with the reason. `meta.frame_count` and
    `meta.duration_s` are the counted values; `meta.declared` keeps the header's and whether they disagree."""

    name: ClassVar[str] = "probe"
    resources: ClassVar[Resources] = Resources(cpus=0.25)  # header reads: must not wait behind actor pools
    config: CurationConfig = field(default_factory=lambda: CurationConfig("default"))

    def process(self, item: dict[str, Any]) -> dict[str, Any]:
        from vsrcore.limits import check_frame_size
        from vsrcore.video.decode import check_decodes
        from vsrcore.video.probe import check_frames, probe

        meta = probe(item["path"])
        check_frame_size(item["path"], meta.coded_width, meta.coded_height)
        counted = check_frames(item["path"], meta)  # headers estimate (MPEG-PS), lie (cut AVI) or average (VFR)
        declared = {
            "frame_count": counted.declared_frames,
            "duration_s": counted.declared_duration_s,
            "mismatch": counted.mismatch,
            "vfr": counted.vfr,
        }
        meta_dict = {**meta.to_dict(), "frame_count": counted.frames, "frame_count_exact": True}
        item = {**item, "meta": {**meta_dict, "duration_s": counted.duration_s, "declared": declared}}
        reason = self._rejection(min(meta.width, meta.height), counted.duration_s, meta.codec)
        if reason is None:
            return item  # every frame is decoded once by the analyse stage, which quarantines what fails there
        # packets that demux may still not decode (damaged NAL units): quarantined here, before a rule rejects the
        # source for its size or length (which would hide that it is broken)
        check_decodes(item["path"])
        return reject(item, self.name, reason)

    def _rejection(self, short: int, duration_s: float, codec: str) -> str | None:
        """Why the resolution, duration and codec rules reject a source, or None."""
        cfg = self.config
        if short < cfg.min_short_side:
            return f"short side {short} < {cfg.min_short_side}"
        if duration_s < cfg.min_duration_s:
            return f"duration {duration_s:.2f} s < {cfg.min_duration_s} s"
        if cfg.codecs is not None and codec not in cfg.codecs:
            return f"codec {codec} not in {', '.join(cfg.codecs)}"
        return None


def _downscale(frames: np.ndarray, width: int) -> np.ndarray:
    import cv2

    if frames.shape[2] <= width:
        return frames
    h = round(frames.shape[1] * width / frames.shape[2])
    return np.stack([cv2.resize(f, (width, h), interpolation=cv2.INTER_AREA) for f in frames])


@dataclass
class AnalyseStage(Stage):
    """One decode of the source (in a guarded child process): the decode check, shots (PySceneDetect), fixed
    windows inside shots and the weight-free scores of 4 sampled frames per window, scored as they are decoded
    (`curation.ops.scan`); samples the pass could not score are read through the random-access reader. One source
    -> its segments."""

    name: ClassVar[str] = "analyse"
    resources: ClassVar[Resources] = Resources(cpus=1, actor=True)  # keeps its decoder child processes
    config: CurationConfig = field(default_factory=lambda: CurationConfig("default"))

    def setup(self) -> None:
        from vsrcore.guard import GuardedWorker
        from vsrcore.video.random_access import RandomAccessReader

        self._guard = GuardedWorker(self.config.decode_timeout_s, label="decoding")
        self._reader = RandomAccessReader(timeout_s=self.config.decode_timeout_s)

    def process(self, item: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
        from curation.ops.frame_scores import mean_scores
        from curation.ops.scan import windows
        from curation.ops.technical import bits_per_pixel

        if not hasattr(self, "_reader"):
            self.setup()
        meta, cfg = item["meta"], self.config
        fps, n = meta["fps"], meta["frame_count"]  # counted from the packets by ProbeStage
        scan = self._guard.call(
            "curation.ops.scan:scan_video",
            item["path"],
            cfg.shots,
            cfg.segments,
            fps,
            n,
            cfg.frame_scores,
            path=item["path"],
        )
        self._score_missing(item["path"], scan, n)
        bpp = bits_per_pixel(meta["bit_rate"], meta["width"], meta["height"], fps)
        segments = []
        for shot_index, start, end, idx in windows(scan.shots, fps, cfg.segments, n):
            scores = mean_scores([scan.frames[i] for i in idx], [scan.motion[i] for i in idx])
            if bpp is not None:
                scores["bits_per_pixel"] = bpp
            segments.append(
                {
                    "kind": "segment",
                    "status": "ok",
                    "source_id": item["source_id"],
                    "path": item["path"],
                    "segment_id": make_id(item["source_id"], start, end),
                    "shot": shot_index,
                    "shot_span": list(scan.shots[shot_index]),
                    "start": start,
                    "end": end,
                    "samples": idx,
                    "scores": scores,
                    "meta": meta,
                }
            )
        if not segments:
            return reject({**item, "shots": scan.shots}, self.name, "no shot long enough for a segment")
        return segments

    def _score_missing(self, path: str, scan: Any, n: int) -> None:
        """Scores (and pair motion) of the samples the pass did not score, from frames read by random access."""
        from curation.ops.frame_scores import frame_scores, pair_motion

        pairs = {i: min(i + 1, n - 1) for i in scan.missing_pairs}
        wanted = sorted(set(scan.missing_frames) | set(pairs) | set(pairs.values()))
        if not wanted:
            return
        frames = dict(zip(wanted, self._reader.get(path, wanted), strict=True))
        for i in scan.missing_frames:
            scan.frames[i] = frame_scores(frames[i], self.config.frame_scores)
        for i, j in pairs.items():
            scan.motion[i] = pair_motion(frames[i], frames[j])


def load_photo(path: str) -> np.ndarray:
    """uint8 RGB (1, H, W, C); MediaError naming the file when it is not a readable image."""
    from vsrcore.video.write import read_image

    return read_image(path)[None]


@dataclass
class PhotoStage(Stage):
    """Photos: short-side rule, weight-free scores and a perceptual hash."""

    name: ClassVar[str] = "photo"
    resources: ClassVar[Resources] = Resources(cpus=0.5)
    config: CurationConfig = field(default_factory=lambda: CurationConfig("default"))

    def process(self, item: dict[str, Any]) -> dict[str, Any]:
        from curation.ops.frame_scores import technical_scores
        from curation.ops.technical import dhash

        img = load_photo(item["path"])
        h, w = img.shape[1:3]
        item = {**item, "meta": {"width": w, "height": h}}
        if min(h, w) < self.config.photo_min_short_side:
            return reject(item, self.name, f"short side {min(h, w)} < {self.config.photo_min_short_side}")
        return {
            **item,
            "scores": technical_scores(img, None, self.config.frame_scores),
            "dhash": str(dhash(img[0])),
        }


@dataclass
class ModelScoreStage(Stage):
    """Weight-backed scorers (aesthetic, MUSIQ) on the sampled frames, loaded once per worker (GPU if any)."""

    name: ClassVar[str] = "score_models"
    resources: ClassVar[Resources] = Resources(cpus=1, gpus=1, actor=True)  # a GPU where the cluster has one
    config: CurationConfig = field(default_factory=lambda: CurationConfig("default"))
    scorer_names: tuple[str, ...] = ()
    weights_dir: str | None = None

    def setup(self) -> None:
        from curation.scorers import SCORERS
        from vsrcore.video.random_access import RandomAccessReader

        self._scorers = [SCORERS[n](weights_dir=self.weights_dir) for n in self.scorer_names]
        for s in self._scorers:
            s.setup()
        self._reader = RandomAccessReader(timeout_s=self.config.decode_timeout_s)

    def process(self, item: dict[str, Any]) -> dict[str, Any]:
        if not hasattr(self, "_scorers"):
            self.setup()
        if item["kind"] == "segment":
            frames = self._reader.get(item["path"], item["samples"])
        else:
            frames = load_photo(item["path"])
        frames = _downscale(frames, self.config.sample_width)
        scores = dict(item["scores"])
        extra: dict[str, Any] = {}
        for s in self._scorers:
            scores[s.name] = s.score(frames)
            if hasattr(s, "embed"):
                extra["clip_embedding"] = s.embed(frames)  # CLIP dedup when the aesthetic weights exist
        return {**item, "scores": scores, **extra}


@dataclass
class ExportStage(Stage):
    """Cut a kept clip without lossy re-encoding (keyframe-aligned stream copy into Matroska when the
    aligned span stays inside the shot, else a frame-exact FFV1 cut), or copy a photo as is, into
    OUT/state/staging/<id>.* with <id>.json written last (the completion marker)."""

    name: ClassVar[str] = "export"
    config: CurationConfig = field(default_factory=lambda: CurationConfig("default"))
    out: str = "."

    def setup(self) -> None:
        from vsrcore.video.random_access import RandomAccessReader

        self._reader = RandomAccessReader(timeout_s=self.config.decode_timeout_s)  # one child per worker

    def process(self, item: dict[str, Any]) -> dict[str, Any]:
        from curation.ops.technical import dhash
        from vsrcore.atomic import atomic_path, write_json_atomic
        from vsrcore.video.edit import cut_exact, cut_stream_copy, keyframes

        staging = Path(self.out) / "state" / "staging"
        marker = staging / f"{item['id']}.json"
        if marker.exists():
            return json.loads(marker.read_text())
        if item["kind"] == "photo":
            ext = Path(item["path"]).suffix.lower().lstrip(".").replace("jpeg", "jpg")
            media = staging / f"{item['id']}.{ext}"
            with atomic_path(media) as tmp:
                shutil.copyfile(item["path"], tmp)
            row = {**item, "media": media.name, "cut_mode": "copy"}
        else:
            start, end = item["start"], item["end"]
            s0, s1 = item["shot_span"]
            keys = keyframes(item["path"])
            first = max([k for k in keys if k <= start], default=0)
            last = min([k for k in keys if k >= end], default=item["meta"]["frame_count"])
            copy = self.config.cut == "copy" or (self.config.cut == "auto" and first >= s0 and last <= s1)
            # stream copies keep the source's container where shards accept it (MP4/MOV keep their display
            # matrix in a header that probe() reads); other containers (MPEG-PS, TS...) go into Matroska
            ext = Path(item["path"]).suffix.lower().lstrip(".")
            media = staging / f"{item['id']}.{ext if copy and ext in ('mp4', 'mov', 'mkv', 'avi') else 'mkv'}"
            if copy:
                span = cut_stream_copy(item["path"], media, start, end, audio=False)
            else:
                span = cut_exact(item["path"], media, start, end, codec="ffv1")
            if not hasattr(self, "_reader"):
                self.setup()
            middle = self._reader.get(media, [span.num_frames // 2])[0]
            row = {
                **item,
                "media": media.name,
                "cut_mode": "stream_copy" if copy else "lossless_ffv1",
                "start": span.start_frame,
                "end": span.end_frame,
                "dhash": str(dhash(middle)),
            }
        write_json_atomic(marker, row)
        return row
