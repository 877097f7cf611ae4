"""Temporary files a killed run left behind: the hidden `.NAME.PID-XXXXXXXX.tmp.EXT` siblings that
`vsrcore.atomic.temp_sibling` names, removed at the start of the next run once their writer is gone."""

from __future__ import annotations

import os
import re
from pathlib import Path


def remove_stale_temps(target: str | Path) -> list[Path]:
    """Remove the temporary siblings of `target` whose writing process no longer runs; returns what was removed.
    A temporary file of a run still in progress (its pid alive) is left alone."""
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.stem)}\.(\d+)-[0-9a-f]{{8}}\.tmp{re.escape(target.suffix)}")
    removed = []
    if not target.parent.is_dir():
        return removed
    for p in target.parent.iterdir():
        m = pattern.fullmatch(p.name)
        if m and not _running(int(m.group(1))):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
