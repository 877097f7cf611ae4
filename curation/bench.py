"""Curation throughput on the sample media: clips and source-hours per hour, time per phase, and the
pipeline's throughput as a fraction of raw decode throughput of the same files (the decode-bound ceiling).

    python -m curation.bench [--backend local|ray] [--num-cpus 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from curation.config import samples
from curation.pipeline import curate
from vsrcore.samples import list_samples
from vsrcore.video.decode import iter_frames
from vsrcore.video.probe import probe


def main(argv: list[str] | None = None) -> int:
    """Run the pipeline once on every available sample and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="local", choices=["local", "ray"])
    parser.add_argument("--num-cpus", type=int, default=None)
    args = parser.parse_args(argv)
    inputs = [str(s.path()) for s in list_samples(available_only=True)]
    videos = [p for p, s in zip(inputs, list_samples(available_only=True), strict=True) if s.kind == "video"]
    source_s = sum(probe(v).duration_s for v in videos)
    t0 = time.perf_counter()
    for v in videos:
        for _ in iter_frames(v):
            pass
    decode_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = curate(
            inputs, Path(tmp) / "out", samples(), backend=args.backend, num_cpus=args.num_cpus, progress=False
        )
        total_s = time.perf_counter() - t0
    hours = total_s / 3600
    print(
        f"inputs: {len(videos)} videos ({source_s:.1f} s of footage) + {len(inputs) - len(videos)} photos; "
        f"backend {args.backend}"
    )
    print("| measure | value |\n|---|---|")
    print(f"| wall time | {total_s:.1f} s |")
    for phase, seconds in summary.get("timings", {}).items():
        print(f"| phase {phase} | {seconds:.1f} s |")
    print(f"| clips kept | {summary['clips']} ({summary['frames']} frames) |")
    print(f"| clips per hour | {summary['clips'] / hours:.0f} |")
    print(f"| source-hours per hour | {source_s / 3600 / hours:.2f} |")
    print(f"| raw decode of the same videos | {decode_s:.2f} s |")
    print(f"| pipeline throughput / decode throughput | {decode_s / total_s:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
