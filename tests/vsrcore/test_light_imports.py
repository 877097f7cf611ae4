"""Light modules and `flashvsr --help` must not import torch, ray or av."""

from __future__ import annotations

import subprocess
import sys


HEAVY = "{'torch', 'ray', 'av', 'pyiqa', 'open_clip', 'decord', 'cv2'}"


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_light_packages_import_nothing_heavy() -> None:
    code = (
        "import sys, vsrcore, vsrcore.registry, vsrcore.video, vsrcore.shards, vsrcore.samples, vsrcore.weights, "
        "vsrcore.tensors, vsrcore.rng, vsrcore.cli, vsrcore.video.probe, vsrcore.video.write, leaderboard\n"
        f"bad = {HEAVY} & set(sys.modules)\n"
        "assert not bad, bad"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys, contextlib, io\nfrom vsrcore.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        f"bad = {HEAVY} & set(sys.modules)\nassert not bad, bad"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr
