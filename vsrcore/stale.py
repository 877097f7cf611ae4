"""Temporary files a killed run left behind: the hidden `.NAME.PID-XXXXXXXX.tmp.EXT` siblings that
`vsrcore.atomic.temp_sibling` names, removed at the start of the next run once their writer is gone."""

from __future__ import annotations

import os
import re
from pathlib import Path


def remove_stale_temps(target: str | Path) -> list[Path]:
    """Remove the temporary siblings of `target` whose writing process no longer runs; returns what was removed.
    Only regular files named exactly as `temp_sibling` names them for this `target` are candidates; one of a run
    still in progress (its pid alive, or not ours to signal) is left alone, and so are links and folders."""
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.stem)}\.(\d+)-[0-9a-f]{{8}}\.tmp{re.escape(target.suffix)}")
    removed = []
    if not target.parent.is_dir():
        return removed
    for p in target.parent.iterdir():
        m = pattern.fullmatch(p.name)
        if m and p.is_file() and not p.is_symlink() and not _running(int(m.group(1))):
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
