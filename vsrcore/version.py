"""The toolkit's version: the installed distribution's version, plus the git commit when run from a checkout."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path


@cache
def git_commit(root: str | Path | None = None) -> str | None:
    """HEAD of the git checkout this package lives in (or `root`), '+dirty' when tracked files are modified;
    None outside a checkout or without git. Read once per process (the code that runs was loaded at start)."""
    root = Path(root) if root is not None else Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():  # a file in a worktree, a folder in a clone; absent in an installed wheel
        return None
    try:
        git = ["git", "-C", str(root)]
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode:
            return None
        status = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def version_string() -> str:
    """'flashvsr 0.1.0 (git <commit>)' -- the commit only when run from a checkout."""
    try:
        version = metadata.version("flashvsr")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    commit = git_commit()
    return f"flashvsr {version}" + (f" (git {commit})" if commit else "")
