"""What crosses back from `degrade`'s pool workers: errors that can be rebuilt in the driver, and a worker that
died abruptly on a full disk reported as the full disk."""

from __future__ import annotations

import errno
import pickle
import shutil
import subprocess
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from degradation import batch
from degradation.batch import DegradeSettings, Job, _disk_full_or, _worker
from vsrcore.errors import MediaError
from vsrcore.limits import PixelCapExceeded


ROOT = Path(__file__).resolve().parents[2]


class _Unrebuildable(Exception):
    """An exception whose constructor takes other arguments than its args (PyAV's and many libraries' do)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"[{code}] {message}")


def test_media_errors_survive_the_trip_between_processes() -> None:
    for e in (MediaError("/x/a.mp4", "empty file"), PixelCapExceeded("/x/b.png", "above the cap")):
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e) and back.path == e.path


def test_a_worker_error_that_cannot_be_rebuilt_is_sent_as_its_type_and_message(monkeypatch) -> None:  # noqa: ANN001
    def fails(job: Job, settings: DegradeSettings, out: str) -> None:
        raise _Unrebuildable(5, "the codec said no")

    monkeypatch.setattr(batch, "run_job", fails)
    job = Job("c", "video", "/x/c.mp4")
    with pytest.raises(RuntimeError) as e:
        _worker((job, DegradeSettings("bicubic", 0, {}), "/tmp/unused"))
    assert str(e.value) == "_Unrebuildable: [5] the codec said no"
    pickle.loads(pickle.dumps(e.value))  # what the pool sends back: rebuilt fine


def test_a_broken_pool_on_a_full_disk_is_the_full_disk(tmp_path: Path) -> None:
    assert _disk_full_or(BrokenProcessPool("died"), tmp_path).args == ("died",)  # room left: the error as it is
    if not shutil.which("unshare") or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("unshare -rm (user and mount namespaces) is not allowed here")
    disk = tmp_path / "disk"
    disk.mkdir()
    check = (
        "import sys; from pathlib import Path; from concurrent.futures.process import BrokenProcessPool; "
        "from degradation.batch import _disk_full_or; "
        f"e = _disk_full_or(BrokenProcessPool('died'), Path('{disk}')); print(type(e).__name__, e.errno, e.filename)"
    )
    script = f"""
mount -t tmpfs -o size=400k tmpfs '{disk}'
dd if=/dev/zero of='{disk}/fill' bs=4k 2>/dev/null
{sys.executable} -c "{check}"
"""
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["OSError", str(errno.ENOSPC), str(disk)], done.stderr
