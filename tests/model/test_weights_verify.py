"""`flashvsr weights verify`: pinned sha256 checks and, for FlashVSR sets, which files each mode needs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from model.weights_cli import verify
from vsrcore.hashing import file_sha256
from vsrcore.pinned_weights import PINNED
from vsrcore.weights import WEIGHTS


@pytest.fixture
def weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FLASHVSR_WEIGHTS", raising=False)
    return tmp_path / "w"


def test_verify_lists_modes_and_what_each_needs(weights_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = weights_dir / "flashvsr-v1.1"
    folder.mkdir(parents=True)
    for f in WEIGHTS["flashvsr-v1.1"].files:
        if f != "Wan2.1_VAE.pth":
            (folder / f).write_bytes(b"x")
    assert verify(["flashvsr-v1.1"], str(weights_dir), load=False) == 3  # one file missing
    out = capsys.readouterr().out
    assert "MISSING flashvsr-v1.1/Wan2.1_VAE.pth" in out
    assert "no sha256 recorded (read only through safetensors / weights_only=True)" in out
    assert "  mode tiny: ready; needs DiT (diffusion_pytorch_model_streaming_dmd.safetensors), LQ projection " \
        "(LQ_proj_in.ckpt), TCDecoder (TCDecoder.ckpt), prompt (posi_prompt.pth)" in out  # fmt: skip
    assert "  mode tiny-long: ready;" in out
    assert "  mode full: not ready, missing Wan2.1_VAE.pth; needs DiT" in out and "Wan2.1 VAE (Wan2.1_VAE.pth)" in out
    (folder / "TCDecoder.ckpt").write_bytes(b"")
    verify(["flashvsr-v1.1"], str(weights_dir), load=False)
    out = capsys.readouterr().out
    assert "  mode tiny: not ready, bad TCDecoder.ckpt;" in out and "BAD" in out and "EMPTY" in out


def test_verify_checks_pinned_hashes(
    weights_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    weights_dir.mkdir(parents=True)
    musiq = weights_dir / "musiq_koniq_ckpt-e95806b9.pth"
    musiq.write_bytes(b"not the published file")
    assert verify(["musiq-koniq"], str(weights_dir), load=False) == 3
    out = capsys.readouterr().out
    assert f"BAD {musiq}" in out
    assert f"sha256 MISMATCH: expected {PINNED[musiq.name].sha256}, got {file_sha256(musiq)}" in out
    monkeypatch.setitem(PINNED, musiq.name, replace(PINNED[musiq.name], sha256=file_sha256(musiq)))
    assert verify(["musiq-koniq"], str(weights_dir), load=False) == 0
    assert f"ok {musiq}  22 bytes; sha256 OK (pinned)" in capsys.readouterr().out
    raft = weights_dir / "raft_large_C_T_SKHT_V2-ff5fadd5.pth"
    raft.write_bytes(b"x")
    monkeypatch.setitem(PINNED, raft.name, replace(PINNED[raft.name], sha256=file_sha256(raft)[:8]))
    assert verify(["raft-large"], str(weights_dir), load=False) == 0
    assert "prefix-only pin: loaded with weights_only=True" in capsys.readouterr().out


def test_stderr_has_one_line_per_bad_file_naming_it_and_what_was_expected(
    weights_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    from tests.vsrcore.test_pinned_weights import _RunsCode

    weights_dir.mkdir(parents=True)
    marker = weights_dir.parent / "ran"
    musiq = weights_dir / "musiq_koniq_ckpt-e95806b9.pth"
    torch.save({"weight": torch.zeros(2), "payload": _RunsCode(marker)}, musiq)  # a pickle that would run code
    folder = weights_dir / "flashvsr-v1.1"
    folder.mkdir()
    for f in WEIGHTS["flashvsr-v1.1"].files:
        if f not in ("Wan2.1_VAE.pth", "TCDecoder.ckpt"):
            (folder / f).write_bytes(b"x")
    (folder / "TCDecoder.ckpt").write_bytes(b"")
    assert verify(["musiq-koniq", "flashvsr-v1.1"], str(weights_dir), load=False) == 3
    err = capsys.readouterr().err.splitlines()
    assert not marker.exists()
    assert len(err) == 3, err
    expected = [
        f"flashvsr weights: {musiq}: sha256 MISMATCH: expected {PINNED[musiq.name].sha256}, got ",
        "flashvsr weights: flashvsr-v1.1/Wan2.1_VAE.pth: missing (get it from ",
        f"flashvsr weights: {folder / 'TCDecoder.ckpt'}: EMPTY",
    ]
    assert all(any(line.startswith(e) for line in err) for e in expected), err
