"""`--backend ray`: the same records as the local backend, and a resume across backends."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.ray_backend import run_on_ray, wants_gpu
from benchmark.runner import BenchConfig, run


pytestmark = [pytest.mark.ray, pytest.mark.slow]

KEY = ["method", "dataset", "clip", "metric"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A --dataset folder: two short clips and a photo (gt only; LQ synthesised)."""
    from vsrcore import testing
    from vsrcore.video.write import write_image_sequence

    root = tmp_path_factory.mktemp("ds")
    for i in range(2):
        write_image_sequence(root / "gt" / f"clip{i}", testing.moving_texture(4, 32, 48, dx=i + 1))
    write_image_sequence(
        root / "gt" / "photo", (np.random.default_rng(0).random((1, 40, 40, 3)) * 255).astype("uint8")
    )
    return root


def _cfg(folder: Path, out: Path, methods: list[str]) -> BenchConfig:
    return BenchConfig(methods=methods, datasets=[], metrics=["psnr", "ssim"], out=out, lq=["bi", "bd"],
                       progress=False, user_datasets={"mine": folder})  # fmt: skip


def _table(out: Path) -> pd.DataFrame:
    df = pd.read_parquet(out / "results.parquet")
    df = df[df["metric"] != "fps"]  # a timing
    df["lq"] = [json.loads(p)["lq"] for p in df["protocol"]]
    return df.sort_values([*KEY, "lq"]).reset_index(drop=True)


def test_ray_backend_writes_the_local_records_and_resumes_them(folder: Path, tmp_path: Path) -> None:
    from vsrcore.ray_cluster import shutdown_ray

    methods = ["bicubic", "lanczos", "flashvsr-tiny"]
    run(_cfg(folder, tmp_path / "local", methods))
    try:
        summary = run(_cfg(folder, tmp_path / "ray", methods), execute=run_on_ray)
        local, ray = _table(tmp_path / "local"), _table(tmp_path / "ray")
        assert len(local) == len(ray) == 3 * 3 * 2 * 2  # methods x clips x LQ variants x metrics
        for column in [*KEY, "lq", "status", "protocol"]:
            assert local[column].tolist() == ray[column].tolist(), column
        assert np.allclose(local["value"], ray["value"], rtol=1e-6, atol=1e-6)
        assert summary.statuses["ok"] > 0 and summary.exit_code == 0
        again = run(_cfg(folder, tmp_path / "local", methods), execute=run_on_ray)  # the local run's records kept
        assert again.records == 0 and again.skipped_clips == 3 * 3 * 2
    finally:
        shutdown_ray()


def test_models_with_weights_ask_for_a_gpu(tmp_path: Path) -> None:
    cfg = BenchConfig(methods=[], datasets=[], metrics=[], out=tmp_path, commands={"up": "ffmpeg {input} {output}"})
    assert wants_gpu(cfg, "flashvsr-tiny") and wants_gpu(cfg, "flashvsr-v1.1")
    assert not wants_gpu(cfg, "bicubic") and not wants_gpu(cfg, "up")
