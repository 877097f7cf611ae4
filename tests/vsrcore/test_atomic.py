"""Atomic output: results appear under their final name only when complete, and readers skip temporaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsrcore.atomic import atomic_path, finished_files, temp_sibling


def test_finished_files_skips_temporaries_in_flight_and_left_by_a_killed_process(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "a.json") as tmp:
        tmp.write_text("{}")
    left = temp_sibling(tmp_path / "b.json")
    left.write_text('{"half": ')  # a killed writer's partial file: it must never be read as a result
    with atomic_path(tmp_path / "c.json") as tmp:
        tmp.write_text("{}")
        assert [p.name for p in finished_files(tmp_path, ".json")] == ["a.json"]
    assert [p.name for p in finished_files(tmp_path, ".json")] == ["a.json", "c.json"]
    assert left.name.endswith(".json") and left in tmp_path.glob("*.json")  # what a plain glob would have read


def test_an_error_inside_removes_the_temporary_and_keeps_the_old_result(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("new, half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
