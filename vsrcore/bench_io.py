"""Video I/O benchmark on the embedded sample media: probe, sequential decode and random access speed.

Run with `make bench-io` (or `python -m vsrcore.bench_io --out results/io_bench.json`; `make bench` is the
methods benchmark). Prints a table and writes the figures with the machine and package versions. Ratios, not
absolute times, are comparable across machines.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from vsrcore.atomic import write_json_atomic
from vsrcore.deps import is_available
from vsrcore.info import versions
from vsrcore.samples import list_samples
from vsrcore.video.decode import iter_frames
from vsrcore.video.probe import probe
from vsrcore.video.random_access import RandomAccessReader


def bench_video(path: Path, samples_per_clip: int = 4) -> dict[str, object]:
    """Time header probe, full sequential decode, and random access of evenly spaced frames."""
    t0 = time.perf_counter()
    meta = probe(path)
    t_probe = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = sum(1 for _ in iter_frames(path))
    t_decode = time.perf_counter() - t0
    indices = [int(i * (n - 1) / max(1, samples_per_clip - 1)) for i in range(samples_per_clip)]
    row: dict[str, object] = {
        "file": path.name,
        "width": meta.width,
        "height": meta.height,
        "codec": meta.codec,
        "frames_header": meta.frame_count,
        "frames_decoded": n,
        "probe_ms": 1000 * t_probe,
        "decode_fps": n / t_decode,
    }
    backends = ["pyav"] + (["decord"] if is_available("decord") else [])
    for backend in backends:
        with RandomAccessReader(timeout_s=120, backend=backend) as reader:
            reader.get(path, indices[:1])  # start the worker outside the timing
            t0 = time.perf_counter()
            reader.get(path, indices)
            # "decord" requests on MPEG-PS/TS are served by PyAV seeking (see RandomAccessReader).
            row[f"random_{backend}_ms_per_frame"] = 1000 * (time.perf_counter() - t0) / len(indices)
            row[f"random_{backend}_served_by"] = reader.last_backend
    return row


def main(argv: list[str] | None = None) -> int:
    """Benchmark every available sample video and write a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/io_bench.json")
    args = parser.parse_args(argv)
    rows = []
    for sample in list_samples("video", available_only=True):
        row = {"sample": sample.name, **bench_video(sample.path())}
        rows.append(row)
        print(
            f"{sample.name:20s} {row['width']}x{row['height']} {row['codec']:10s} "
            f"frames {row['frames_decoded']:4d}  decode {row['decode_fps']:7.1f} fps  "
            + "  ".join(
                f"{b} (served by {row[f'random_{b}_served_by']}) {row[f'random_{b}_ms_per_frame']:6.1f} ms/frame"
                for b in ("pyav", "decord")
                if f"random_{b}_ms_per_frame" in row
            )
        )
    report = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "processor": platform.processor()},
        "versions": {k: v for k, v in versions().items() if k in ("av", "decord", "numpy")},
        "rows": rows,
    }
    write_json_atomic(Path(args.out), report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
