"""Curation throughput: clips and source-hours per hour, time per phase, and the pipeline's throughput as a
fraction of raw decode throughput of the same files (the decode-bound ceiling).

    python -m curation.bench [--backend local|ray] [--num-cpus 2]            # the sample media, preset samples
    python -m curation.bench --generate-1080p 4 [--backend local|ray]       # 1080p sources made now, preset vsr120k

`--generate-1080p N` writes N 1920x1080 x264 sources of 250 frames at 25 fps (two shots of textures moving 6 px a
frame, a hard cut between them; `vsrcore.testing`) into a temporary folder and curates them with `vsr120k`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from curation.config import CurationConfig, samples, vsr120k
from curation.pipeline import curate
from vsrcore.samples import list_samples
from vsrcore.video.decode import iter_frames
from vsrcore.video.probe import probe


def main(argv: list[str] | None = None) -> int:
    """Run the pipeline once on the sample media (or generated 1080p sources) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="local", choices=["local", "ray"])
    parser.add_argument("--num-cpus", type=int, default=None)
    parser.add_argument("--generate-1080p", type=int, default=0, metavar="N", help="curate N generated 1080p sources")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.generate_1080p:
            inputs = generate_1080p(Path(tmp) / "raw", args.generate_1080p)
            videos, config = inputs, vsr120k()
        else:
            inputs = [str(s.path()) for s in list_samples(available_only=True)]
            videos = [p for p, s in zip(inputs, list_samples(available_only=True), strict=True) if s.kind == "video"]
            config = samples()
        return _measure(args, inputs, videos, config, Path(tmp))


def generate_1080p(folder: Path, n: int, frames: int = 250) -> list[str]:
    """N distinct 1080p sources (x264, crf 18) of two moving-texture shots each; returns their paths."""
    import numpy as np

    from vsrcore import testing
    from vsrcore.video.write import write_video

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        shots = [testing.moving_texture(frames // 2, 1080, 1920, dx=6, dy=2, seed=10 * i + k) for k in (0, 1)]
        path = folder / f"source{i}.mp4"
        write_video(path, np.concatenate(shots), fps=25, codec="x264", crf=18)
        paths.append(str(path))
    return paths


def _measure(args: argparse.Namespace, inputs: list[str], videos: list[str], config: CurationConfig, tmp: Path) -> int:
    source_s = sum(probe(v).duration_s for v in videos)
    t0 = time.perf_counter()
    for v in videos:
        for _ in iter_frames(v):
            pass
    decode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = curate(inputs, tmp / "out", config, backend=args.backend, num_cpus=args.num_cpus, progress=False)
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
