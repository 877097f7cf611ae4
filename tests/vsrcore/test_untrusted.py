"""The safe-name gate and the tar member reader (vsrcore.untrusted), and ShardReader on hostile shards."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile_inputs import CASES, GOOD_ID, OVERSIZE_CAP, malicious_shard, png_bytes, snapshot
from vsrcore.errors import MediaError
from vsrcore.shards import ShardReader
from vsrcore.untrusted import (
    MAX_MEMBER_BYTES_ENV,
    UnsafeMember,
    UnsafeName,
    name_problem,
    read_member,
    read_members,
    safe_join,
    safe_name,
)


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """(shard dir, tar path, hostile member, escape target, work folder) for the case in request.param."""
    case = request.param
    monkeypatch.setenv(MAX_MEMBER_BYTES_ENV, str(OVERSIZE_CAP))
    work = tmp_path / "a" / "b" / "work"
    escape = tmp_path / "escaped.png"
    tar_path, member = malicious_shard(tmp_path / "a" / "b" / "shard", case, escape)
    return tmp_path / "a" / "b" / "shard", tar_path, member, escape, work


def _assert_one_line_refusal(err: BaseException, tar_path: Path, member: str) -> None:
    text = str(err)
    assert "\n" not in text
    assert str(tar_path) in text and repr(member) in text and "refused" in text


@pytest.mark.parametrize("hostile", CASES, indirect=True)
def test_shard_reader_refuses_every_hostile_member(hostile, tmp_path: Path) -> None:
    root, tar_path, member, escape, work = hostile
    before = snapshot(tmp_path)
    reader = ShardReader(root)
    assert reader.read_member(GOOD_ID) == png_bytes()  # the good item still reads
    for call in (
        lambda: reader.read_member("evil"),
        lambda: list(reader.iter_items()),
        lambda: reader.extract("evil", work),
    ):
        with pytest.raises(UnsafeMember) as e:
            call()
        _assert_one_line_refusal(e.value, tar_path, member)
    with pytest.raises(UnsafeMember):  # reading the raw tar member by member refuses it too
        list(read_members(tar_path))
    assert reader.extract(GOOD_ID, work).read_bytes() == png_bytes()
    assert not escape.exists() and not os.path.lexists(escape)
    after = snapshot(tmp_path)
    assert {k for k in after if k not in before} == {"a/b/work/good.png"}


def test_manifest_names_pass_the_gate_before_any_path_is_built(tmp_path: Path) -> None:
    import pandas as pd

    root = tmp_path / "shard"
    malicious_shard(root, "symlink", tmp_path / "x")
    df = pd.read_parquet(root / "manifest.parquet")
    df.loc[df["id"] == "evil", "shard"] = "../../../etc/passwd"
    df.to_parquet(root / "manifest.parquet", index=False)
    with pytest.raises(UnsafeMember, match=r"manifest shard '\.\./\.\./\.\./etc/passwd': '\.\.' component"):
        ShardReader(root).read_member("evil")


def test_unreadable_and_incomplete_tars_are_one_line_media_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(MediaError, match="not a readable tar"):
        read_member(bad, "x.png")
    good = tmp_path / "good.tar"
    with tarfile.open(good, "w") as tar:
        info = tarfile.TarInfo("a.png")
        data = png_bytes()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(MediaError, match=r"no member 'b\.png'"):
        read_member(good, "b.png")
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(good.read_bytes()[:700])
    with pytest.raises(MediaError, match="truncated|not a readable tar"):
        read_member(truncated, "a.png")
    with pytest.raises(MediaError, match="shard tar not found"):
        read_member(tmp_path / "absent.tar", "a.png")


def test_member_cap_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("a.bin")
        info.size = 100
        tar.addfile(info, io.BytesIO(bytes(100)))
    assert read_member(path, "a.bin") == bytes(100)
    assert read_member(path, "a.bin", max_bytes=100) == bytes(100)
    with pytest.raises(UnsafeMember, match="100 bytes exceeds the member cap of 99 bytes"):
        read_member(path, "a.bin", max_bytes=99)
    monkeypatch.setenv(MAX_MEMBER_BYTES_ENV, "50")
    with pytest.raises(UnsafeMember, match="exceeds the member cap of 50 bytes"):
        read_member(path, "a.bin")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty name"),
        ("/etc/passwd", "absolute path"),
        ("C:/x", "absolute path"),
        ("../x", "'..' component"),
        ("a/../../x", "'..' component"),
        ("a//b", "not canonical"),
        ("./a", "not canonical"),
        ("a/", "not canonical"),
        ("a\\..\\b", "backslash"),
        ("a\x00b", "control character"),
        ("a\udcffb", "not valid UTF-8"),
        ("x" * 2000, "longer than"),
    ],
)
def test_name_gate_rejects(name: str, problem: str) -> None:
    assert problem in (name_problem(name) or "")
    with pytest.raises(UnsafeName, match="refused"):
        safe_name(name)


def test_name_gate_accepts_plain_names_and_single_means_one_component() -> None:
    for ok in ("a.mp4", "dir/sub/clip_0001.mkv", "é 漢字 file.png", "..a", "a..", "...x"):
        assert safe_name(ok) == ok
    with pytest.raises(UnsafeName, match="folder part"):
        safe_name("dir/a.mp4", single=True)


def test_safe_join_refuses_a_symlinked_folder_pointing_out(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(UnsafeName, match="resolves outside"):
        safe_join(dest, "link/x.png")
    assert safe_join(dest, "sub/x.png") == dest / "sub" / "x.png"


# --- property-based: the member-name filter -------------------------------------------------------------------

_NAME_ALPHABET = st.sampled_from(["a", "b", ".", "/", "\\", ":", " ", "C", "\x00", "\n", "é", "..", "~"])
_names = st.one_of(st.text(max_size=40), st.lists(_NAME_ALPHABET, max_size=16).map("".join))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_names)
def test_no_accepted_name_resolves_outside_the_destination(tmp_path: Path, name: str) -> None:
    dest = tmp_path / "dest"
    try:
        target = safe_join(dest, name)
    except UnsafeName as e:
        assert "\n" not in str(e)
        return
    resolved = os.path.realpath(target)
    assert os.path.commonpath([os.path.realpath(dest), resolved]) == os.path.realpath(dest)
    assert resolved != os.path.realpath(dest)
    assert Path(os.path.relpath(resolved, os.path.realpath(dest))).as_posix() == name  # canonical: no rewriting


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_names, data=st.binary(max_size=64))
def test_every_accepted_name_round_trips_through_a_tar(tmp_path: Path, name: str, data: bytes) -> None:
    if name_problem(name) is not None:
        return
    path = tmp_path / "rt.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert list(read_members(path, [name])) == [(name, data)]
    assert list(read_members(path)) == [(name, data)]
