"""`remove_stale_temps`: a killed writer's temporary sibling goes, nothing else beside the output does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vsrcore.atomic import temp_sibling
from vsrcore.stale import remove_stale_temps


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_only_a_dead_writers_temp_of_this_output_is_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    target = tmp_path / "up.mkv"
    stale = tmp_path / f".up.{dead}-a7f5b020.tmp.mkv"
    kept = {
        "live writer": tmp_path / f".up.{os.getpid()}-0123abcd.tmp.mkv",
        "this run's own": temp_sibling(target),
        "another output's": tmp_path / f".upx.{dead}-a7f5b020.tmp.mkv",
        "another suffix": tmp_path / f".up.{dead}-a7f5b020.tmp.mp4",
        "not 8 hex digits": tmp_path / f".up.{dead}-a7f5b02.tmp.mkv",
        "not hidden": tmp_path / f"up.{dead}-a7f5b020.tmp.mkv",
        "the output": target,
        "regex metacharacters": tmp_path / f".upXmkv.{dead}-a7f5b020.tmp.mkv",
    }
    for p in [stale, *kept.values()]:
        p.write_bytes(b"x")
    folder = tmp_path / f".up.{dead}-b7f5b020.tmp.mkv"  # a folder of that name is never removed
    folder.mkdir()
    link = tmp_path / f".up.{dead}-c7f5b020.tmp.mkv"  # nor a link (its target least of all)
    link.symlink_to(target)

    assert remove_stale_temps(target) == [stale]
    assert not stale.exists()
    assert all(p.exists() for p in kept.values()), [k for k, p in kept.items() if not p.exists()]
    assert folder.is_dir() and link.is_symlink() and target.exists()


def test_a_stem_with_regex_characters_matches_only_itself(tmp_path: Path) -> None:
    dead = _dead_pid()
    target = tmp_path / "a.b+c.mkv"
    other = tmp_path / f".aXbbc.{dead}-00000000.tmp.mkv"
    mine = tmp_path / f".a.b+c.{dead}-00000000.tmp.mkv"
    other.write_bytes(b"x")
    mine.write_bytes(b"x")
    assert remove_stale_temps(target) == [mine] and other.exists()
    assert remove_stale_temps(tmp_path / "missing-folder" / "x.mkv") == []
