"""Pinned sha256 of third-party weights (vsrcore.pinned_weights) and the guarded loaders (vsrcore.weights)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from vsrcore.hashing import file_sha256
from vsrcore.pinned_weights import PINNED, WeightsHashMismatch, check_pinned
from vsrcore.weights import WeightsRefused, load_tensors, third_party_load


class _RunsCode:
    """Unpickling this runs code: it writes `marker` (a stand-in for anything an attacker would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def evil_weights(path: Path, marker: Path) -> Path:
    """A .pth whose unpickling would write `marker`, next to a real tensor (as a crafted checkpoint would be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"weight": torch.zeros(2), "payload": _RunsCode(marker)}, path)
    return path


def test_the_evil_file_really_runs_code_when_unpickled(tmp_path: Path) -> None:
    path = evil_weights(tmp_path / "x.pth", tmp_path / "marker")
    torch.load(path, weights_only=False)  # what an unguarded third-party loader does
    assert (tmp_path / "marker").read_text() == "ran"


def test_every_pin_is_well_formed() -> None:
    for name, pin in PINNED.items():
        assert pin.level in ("full", "prefix") and name in pin.source, name
        assert all(c in "0123456789abcdef" for c in pin.sha256)
        assert len(pin.sha256) == (64 if pin.level == "full" else 8), name
        stem_hash = Path(name).stem.rsplit("-", 1)[-1]
        if len(stem_hash) == 8 and all(c in "0123456789abcdef" for c in stem_hash):
            assert pin.sha256.startswith(stem_hash), f"{name}: pin does not start with the name's prefix"


def test_a_pickle_under_a_pinned_name_is_refused_with_one_line(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = evil_weights(tmp_path / "musiq_koniq_ckpt-e95806b9.pth", marker)
    with pytest.raises(WeightsHashMismatch) as e:
        with third_party_load([path]):
            torch.load(path, weights_only=False)  # never reached
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    assert f"expected {PINNED[path.name].sha256}, got {file_sha256(path)}" in msg
    assert not marker.exists()


def test_a_forged_prefix_only_loads_tensors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A prefix pin is 32 bits: even when a crafted file matches it, every torch.load is weights_only."""
    marker = tmp_path / "marker"
    name = "raft_large_C_T_SKHT_V2-ff5fadd5.pth"
    path = evil_weights(tmp_path / name, marker)
    with pytest.raises(WeightsHashMismatch, match="sha256 prefix mismatch: expected ff5fadd5"):
        check_pinned(path)
    monkeypatch.setitem(PINNED, name, replace(PINNED[name], sha256=file_sha256(path)[:8]))  # the forgery
    assert check_pinned(path) == "prefix"
    with pytest.raises(WeightsRefused) as e:
        with third_party_load([path]):
            torch.load(path, map_location="cpu", weights_only=False)  # the library asks for a full unpickle
    assert "\n" not in str(e.value) and str(path) in str(e.value) and "Unsupported global: GLOBAL exec" in str(e.value)
    assert not marker.exists()


def test_a_plain_state_dict_with_a_matching_pin_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "raft_large_C_T_SKHT_V2-ff5fadd5.pth"
    path = tmp_path / name
    state = {"conv.weight": torch.arange(6.0).reshape(2, 3)}
    torch.save(state, path)
    monkeypatch.setitem(PINNED, name, replace(PINNED[name], sha256=file_sha256(path)[:8]))
    with third_party_load([path]) as levels:
        loaded = torch.load(path, map_location="cpu", weights_only=False)
    assert levels == {path: "prefix"}
    torch.testing.assert_close(loaded["conv.weight"], state["conv.weight"])
    full = "musiq_koniq_ckpt-e95806b9.pth"
    torch.save(state, tmp_path / full)
    monkeypatch.setitem(PINNED, full, replace(PINNED[full], sha256=file_sha256(tmp_path / full)))
    with third_party_load([tmp_path / full]) as levels:  # a full match: the library's own loader may run
        torch.testing.assert_close(
            torch.load(tmp_path / full, weights_only=False)["conv.weight"], state["conv.weight"]
        )
    assert levels == {tmp_path / full: "full"}


def test_unpinned_files_load_as_tensors_only(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = evil_weights(tmp_path / "sa_0_4_vit_l_14_linear.pth", marker)
    with pytest.raises(WeightsRefused, match="refused: holds pickled objects other than tensors"):
        load_tensors(path)
    with pytest.raises(WeightsRefused):
        with third_party_load([]):  # no file known up front: still tensors only
            torch.load(path, weights_only=False)
    assert not marker.exists()
    torch.save({"weight": torch.ones(1, 3), "bias": torch.zeros(1)}, tmp_path / "head.pth")
    assert set(load_tensors(tmp_path / "head.pth")) == {"weight", "bias"}  # type: ignore[arg-type]


def test_the_forcing_is_undone_after_the_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.delenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", raising=False)
    with third_party_load([]):
        assert os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] == "1"
    assert "TORCH_FORCE_WEIGHTS_ONLY_LOAD" not in os.environ
