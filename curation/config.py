"""Curation presets: every threshold in one frozen dataclass per preset."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from curation.ops.segments import MergeConfig, SegmentConfig
from curation.ops.shots import ShotConfig


@dataclass(frozen=True)
class CurationConfig:
    """All knobs of a curation run.

    thresholds: score name -> (min, max), None for an open side. A segment is kept when every score it
    has lies inside its range; scores whose scorer was skipped (missing weights) are not used, and the
    record says so.
    """

    name: str
    min_short_side: int = 1080
    min_duration_s: float = 8.0
    codecs: tuple[str, ...] | None = None  # None: any codec PyAV decodes
    photo_min_short_side: int = 1024
    shots: ShotConfig = ShotConfig()
    segments: SegmentConfig = SegmentConfig()
    merge: MergeConfig = MergeConfig()
    scorers: tuple[str, ...] = ("aesthetic", "musiq")
    thresholds: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    photo_thresholds: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    cut: str = "auto"  # "auto": stream copy when the keyframe-aligned span stays inside the shot, else lossless
    dedup_hamming: int = 4  # dHash distance at or below which clips/photos count as near-duplicates
    dedup_cosine: float = 0.97  # CLIP-embedding cosine at or above which they do (when the CLIP weights exist)
    decode_timeout_s: float = 120.0
    sample_width: int = 768  # model scorers see sampled frames at most this wide
    # weight-free per-frame scores computed on the sampled frames (motion, of frame pairs, always is)
    frame_scores: tuple[str, ...] = ("sharpness", "blockiness", "hf_ratio", "niqe")
    shard_max_items: int = 64
    val_sources: tuple[str, ...] = ()  # file names always sent to the val split (the rest: a 10% hash split)


def vsr120k() -> CurationConfig:
    """FlashVSR's VSR-120K recipe: >= 1080p sources, 8 s segments, 4 sampled frames, LAION aesthetic +
    MUSIQ + motion, consecutive good segments merged. The paper gives no numeric thresholds; these are ours:
    aesthetic >= 4.5 (Open-Sora's Panda subset), MUSIQ >= 50, DIS motion >= 0.5 px/frame at 256 px
    (Anyscale's Farneback gate), a top-octave energy ratio >= 0.05 (no strong upscale), blockiness <= 1.6. NIQE,
    which no rule of the recipe reads and which costs more per 1080p frame than decoding 100 frames, is not
    computed (`--set frame_scores=sharpness,blockiness,hf_ratio,niqe` adds it)."""
    return CurationConfig(
        name="vsr120k",
        frame_scores=("sharpness", "blockiness", "hf_ratio"),
        thresholds={
            "aesthetic": (4.5, None),
            "musiq": (50.0, None),
            "motion": (0.5, None),
            "hf_ratio": (0.05, None),
            "blockiness": (None, 1.6),
        },
        photo_thresholds={"aesthetic": (4.5, None), "musiq": (50.0, None), "hf_ratio": (0.05, None)},
        merge=MergeConfig(min_frames=96, max_frames=1800),
    )


def samples() -> CurationConfig:
    """The same stages with thresholds for the embedded low-resolution sample media (144p-576p, 4-10 s)."""
    return CurationConfig(
        name="samples",
        min_short_side=144,
        min_duration_s=2.0,
        photo_min_short_side=256,
        segments=SegmentConfig(window_s=2.0, min_segment_s=1.0, samples=4),
        merge=MergeConfig(min_frames=20, max_frames=300),
        thresholds={
            "aesthetic": (4.0, None),
            "musiq": (30.0, None),
            "motion": (0.05, None),
            "blockiness": (None, 2.5),
        },
        photo_thresholds={"hf_ratio": (0.02, None)},
        shard_max_items=16,
        decode_timeout_s=60.0,
        val_sources=heldout_sample_files(),
    )


def heldout_sample_files() -> tuple[str, ...]:
    """File names of the held-out sample media (vsrcore.samples.HELDOUT, the benchmark's `samples` set)."""
    from vsrcore.samples import list_samples

    return tuple(sorted(Path(s.relpath).name for s in list_samples(split="heldout")))
