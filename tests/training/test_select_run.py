"""Validation selection and the seeds table of the model card, from results folders written by the record store."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.records import Record, append_records
from training.select_run import gain_over_bicubic, main, seed_table


def _write(folder: Path, method: str, psnr: dict[str, float], lq: str = "bi") -> None:
    protocol = {"scale": 4, "lq": lq}
    append_records(folder, [Record(method, "val", clip, "psnr", v, protocol=protocol) for clip, v in psnr.items()])


@pytest.fixture()
def seeds(tmp_path: Path) -> list[Path]:
    folders = [tmp_path / f"s{i}" for i in range(3)]
    _write(folders[0], "bicubic", {"a": 20.0, "b": 30.0})
    _write(folders[0], "lanczos", {"a": 20.5, "b": 30.5})
    for i, f in enumerate(folders):
        _write(f, "flashvsr-tiny", {"a": 21.0 + i, "b": 31.0})  # gains over bicubic +1, +1.5, +2
    return folders


def test_seed_table_gives_each_seed_the_mean_spread_and_worst_gain(seeds: list[Path]) -> None:
    table = seed_table(seeds, metrics=("psnr",))
    rows = {line.split("|")[2].strip(): [c.strip() for c in line.split("|")[3:-1]] for line in table.splitlines()[2:]}
    assert rows["seed 0"] == ["2", "26.00", "+1.00", "+0.50"]
    assert rows["seed 2"] == ["2", "27.00", "+2.00", "+1.50"]
    assert rows["mean of seeds"] == ["", "26.50", "+1.50", "+1.00"]
    assert rows["spread (max - min)"][1] == "1.00"
    assert rows["worst seed"] == ["", "–", "+1.00", "+0.50"]
    assert rows["bicubic"] == ["2", "25.00", "", ""]


def test_selection_and_the_cli(seeds: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert gain_over_bicubic(seeds[0]) == pytest.approx(1.0)
    assert main([str(p) for p in seeds]) == 2  # selection compares each folder with its own bicubic
    assert "no psnr records of both flashvsr-tiny and bicubic" in capsys.readouterr().err
    assert main([str(seeds[0])]) == 0 and capsys.readouterr().out.strip().endswith(f"selected: {seeds[0]}")
    assert main(["--seeds", *map(str, seeds)]) == 0 and "worst seed" in capsys.readouterr().out
    assert main(["--seeds", str(seeds[0].parent / "none")]) == 2
