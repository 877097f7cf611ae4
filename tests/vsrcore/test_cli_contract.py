"""The CLI contract every command shares: --version, `list`, did-you-mean, --debug/--quiet on either side of the
subcommand, one spelling for outputs (-o/--out) and options (--set) with the old ones as aliases, and exit codes
(0 ok, 2 usage, 3 partial, 130 interrupted)."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vsrcore import testing
from vsrcore.atomic import finished_files
from vsrcore.cli import build_parser, main
from vsrcore.cliargs import resolve_aliases
from vsrcore.samples import sample_path
from vsrcore.video.decode import read_frames
from vsrcore.video.write import write_video


ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "ray", "pyiqa", "av", "cv2")


def _python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A 6-frame 32x48 lossless clip."""
    return write_video(tmp_path / "clip.mkv", testing.moving_texture(6, 32, 48), fps=25, codec="ffv1")


# ---------------------------------------------------------------- --version


def test_version_names_package_and_commit_without_torch() -> None:
    r = _python(
        "import sys, contextlib, io\nfrom vsrcore.cli import main\nbuf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n    rc = main(['--version'])\n"
        f"print(rc, buf.getvalue().strip(), sorted(set({HEAVY!r}) & set(sys.modules)))"
    )
    assert r.returncode == 0, r.stderr
    rc, rest = r.stdout.split(" ", 1)
    assert rc == "0"
    from importlib import metadata

    version = metadata.version("flashvsr")
    # run from this checkout, so the commit is there
    assert re.fullmatch(rf"flashvsr {re.escape(version)} \(git [0-9a-f]{{40}}(\+dirty)?\) \[\]", rest.strip()), rest


# ---------------------------------------------------------------- list

_KIND_TABLES = {
    "models": "model:MODELS",
    "metrics": "benchmark.metrics:METRICS",
    "datasets": "benchmark.datasets:DATASETS",
    "suites": "benchmark.runner:SUITES",
    "presets": "degradation:PRESETS",
}


@pytest.mark.parametrize("kind", list(_KIND_TABLES))
def test_list_prints_one_line_per_entry_without_heavy_imports(kind: str) -> None:
    module, _, attr = _KIND_TABLES[kind].partition(":")
    code = (
        "import sys, time, contextlib, io, importlib\nfrom vsrcore.cli import main\nbuf = io.StringIO()\n"
        "t = time.perf_counter()\n"
        f"with contextlib.redirect_stdout(buf):\n    rc = main(['list', '{kind}'])\n"
        "seconds = time.perf_counter() - t\n"
        f"heavy = sorted(set({HEAVY!r}) & set(sys.modules))\n"
        f"names = list(getattr(importlib.import_module('{module}'), '{attr}'))\n"
        "names = [getattr(n, 'name', n) for n in names]\n"
        # `list models` also lists the external methods bench runs from a checkout (benchmark.external_methods)
        + ("from benchmark.external_methods import PRESETS\nnames += list(PRESETS)\n" if kind == "models" else "")
        + "import json; print(json.dumps({'rc': rc, 'out': buf.getvalue(), 'heavy': heavy, 'names': names, "
        "'seconds': seconds}))"
    )
    r = _python(code)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["rc"] == 0 and got["heavy"] == []
    assert got["seconds"] < 2.0
    lines = got["out"].splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(got["names"])
    for line in lines:
        assert line.split()[1] in ("ready", "missing") and "| needs:" in line
        assert ("| missing:" in line) == (line.split()[1] == "missing")


def test_list_checks_weights_files_and_dataset_layout(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("FLASHVSR_WEIGHTS", raising=False)
    weights = tmp_path / "w"
    weights.mkdir()
    assert main(["list", "metrics", "--weights-dir", str(weights)]) == 0
    musiq = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("musiq "))
    assert "missing" in musiq and "musiq_koniq_ckpt-e95806b9.pth" in musiq and "huggingface.co" in musiq
    (weights / "musiq_koniq_ckpt-e95806b9.pth").write_bytes(b"x")
    assert main(["list", "metrics", "--weights-dir", str(weights)]) == 0
    musiq = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("musiq "))
    assert musiq.split()[1] == "ready"

    root = tmp_path / "data"
    frame = np.zeros((8, 8, 3), np.uint8)
    from PIL import Image

    for clip_name in ("calendar", "city", "foliage", "walk"):
        for sub in ("GT", "BIx4"):
            (root / "Vid4" / sub / clip_name).mkdir(parents=True)
            Image.fromarray(frame).save(root / "Vid4" / sub / clip_name / "00000000.png")
    assert main(["list", "datasets", "--data-root", str(root)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert rows["vid4"].split()[1] == "ready"
    assert rows["vid4-bd"].split()[1] == "missing" and "Vid4/BDx4" in rows["vid4-bd"]
    assert rows["samples"].split()[1] == "ready"


# ---------------------------------------------------------------- did you mean


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["upscal", "x.mp4"], "'upscale'"),
        (["list", "modles"], "'models'"),
        (["upscale", "x.mp4", "-o", "y.mp4", "--model", "bicubc"], "'bicubic'"),
        (["degrade", "x", "-o", "y", "--preset", "realbasicvs"], "'realbasicvsr'"),
        (["bench", "--suite", "papr"], "'paper'"),
        (["weights", "verify", "flashvsr-v1.2"], "'flashvsr-v1.1'"),
        (["curate", "x", "-o", "y", "--set", "min_short=720"], "'min_short_side'"),
        (["train", "--stage", "1", "--data", "x", "-o", "y", "--degradation", "bicubc"], "'bicubic'"),
    ],
)
def test_unknown_names_are_one_line_with_the_closest(argv: list[str], suggestion: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "did you mean" in err and suggestion in err and "Traceback" not in err


def test_train_set_keys_suggest_the_model_prefix(tmp_path: Path, capsys) -> None:
    argv = ["train", "--stage", "1", "--data", str(tmp_path), "-o", str(tmp_path / "run"), "--set", "tc_channel=[8]"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "'model.tc_channels'" in err
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- usage errors, --debug


@pytest.mark.parametrize(
    "argv",
    [["--no-such-flag"], ["degrade"], ["upscale", "x.mp4"], ["train", "--stage", "9", "-o", "r"], ["probe"]],
)
def test_argparse_errors_exit_2_in_one_line(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("flashvsr")


def test_argparse_errors_exit_2_from_the_console_entry(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "vsrcore.cli", "degrade"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_on_either_side_shows_the_traceback(where: str, tmp_path: Path, capsys) -> None:
    missing = str(tmp_path / "missing.mp4")
    argv = ["--debug", "probe", missing] if where == "before" else ["probe", missing, "--debug"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith(f"flashvsr probe: {missing}")
    assert main(["probe", missing]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "missing.mp4" in err


# ---------------------------------------------------------------- --quiet


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_on_either_side_silences_degrade(where: str, clip: Path, tmp_path: Path, capsys) -> None:
    argv = ["degrade", str(clip), "-o", str(tmp_path / "o"), "--preset", "bicubic", "--clip-frames", "3"]
    assert main(["--quiet", *argv] if where == "before" else [*argv, "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert "TQDM_DISABLE" not in os.environ and logging.root.manager.disable == 0  # restored after the command
    assert main([*argv[:3], str(tmp_path / "loud"), *argv[4:]]) == 0  # the same run, not quiet
    captured = capsys.readouterr()
    assert "2 clips in" in captured.out and "clip" in captured.err  # summary + progress bar


def test_quiet_silences_upscale_and_leaderboard(clip: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "up.mkv"
    assert main(["upscale", str(clip), "-o", str(out), "--model", "bicubic", "--scale", "2", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "" and out.exists()
    assert main(["upscale", str(clip), "-o", str(tmp_path / "loud.mkv"), "--model", "bicubic", "--scale", "2"]) == 0
    captured = capsys.readouterr()
    assert "6 frames 96x64" in captured.out and "upscale:" in captured.err


# ---------------------------------------------------------------- one spelling for outputs and options


def test_degrade_positional_output_is_a_deprecated_alias_of_o(clip: Path, tmp_path: Path, capsys) -> None:
    common = [str(clip), "--preset", "realbasicvsr", "--seed", "3", "--clip-frames", "3", "--quiet"]
    assert main(["degrade", *common, "-o", str(tmp_path / "new")]) == 0
    assert capsys.readouterr().err == ""
    assert main(["degrade", *common[:1], str(tmp_path / "old"), *common[1:]]) == 0
    err = capsys.readouterr().err
    assert "deprecated" in err and "-o/--out" in err and len(err.strip().splitlines()) == 1
    new, old = (pd.read_parquet(tmp_path / d / "manifest.parquet") for d in ("new", "old"))
    pd.testing.assert_frame_equal(new, old)
    for lq in new["lq_path"]:
        np.testing.assert_array_equal(read_frames(tmp_path / "new" / lq), read_frames(tmp_path / "old" / lq))
    # both spellings naming different folders is a usage error, not a silent choice
    assert main(["degrade", str(clip), str(tmp_path / "a"), "-o", str(tmp_path / "b")]) == 2
    assert "disagree" in capsys.readouterr().err


def test_upscale_output_flag_is_a_deprecated_alias_of_o(clip: Path, tmp_path: Path, capsys) -> None:
    common = ["upscale", str(clip), "--model", "bicubic", "--scale", "2", "--lossless", "--quiet"]
    assert main([*common, "-o", str(tmp_path / "new.mkv")]) == 0
    assert main([*common, "--out", str(tmp_path / "long.mkv")]) == 0
    assert capsys.readouterr().err == ""
    assert main([*common, "--output", str(tmp_path / "old.mkv")]) == 0
    assert "--output is deprecated, use -o/--out" in capsys.readouterr().err
    new = read_frames(tmp_path / "new.mkv")
    assert new.shape == (6, 64, 96, 3)
    np.testing.assert_array_equal(new, read_frames(tmp_path / "old.mkv"))
    np.testing.assert_array_equal(new, read_frames(tmp_path / "long.mkv"))


def test_train_option_and_config_are_aliases_of_set(capsys) -> None:
    argv = ["train", "--stage", "1", "-o", "run", "--option", "pixel_latents=2", "--config", "tc_channels=[8,8,8,8]",
            "--set", "shift=3"]  # fmt: skip
    args = build_parser("train").parse_args(argv)
    resolve_aliases(args, "flashvsr train")
    assert sorted(args.set) == ["model.tc_channels=[8,8,8,8]", "pixel_latents=2", "shift=3"]
    assert args.set[-1] == "shift=3"  # the new spelling comes last: it wins over an old one for the same key
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "--option is deprecated, use --set" in err[0] and "--set model.KEY=VALUE" in err[1]
    from training.cli import split_set

    assert split_set(args.set) == ({"pixel_latents": 2, "shift": 3}, {"tc_channels": [8, 8, 8, 8]})


def test_curate_set_overrides_nested_preset_fields() -> None:
    from curation import PRESETS
    from vsrcore.cliargs import override_fields, parse_set

    config = override_fields(PRESETS.build("samples"), parse_set(["segments.window_s=4", 'codecs=["h264"]']))
    assert config.segments.window_s == 4 and config.codecs == ("h264",)
    assert config.min_short_side == PRESETS.build("samples").min_short_side


def test_set_values_are_json_when_they_parse() -> None:
    from vsrcore.cliargs import parse_set

    got = parse_set(["a=1", "b=false", "c=[1, 2]", "d=text", "e=", 'f="quoted"', "a=2.5"])
    assert got == {"a": 2.5, "b": False, "c": [1, 2], "d": "text", "e": "", "f": "quoted"}


@pytest.mark.parametrize("item", ["novalue", "=1", "k=[1,2"])
def test_malformed_set_is_a_usage_error(item: str, clip: Path, tmp_path: Path, capsys) -> None:
    assert main(["degrade", str(clip), "-o", str(tmp_path / "o"), "--set", item]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- exit 3 and 130


def test_partial_failure_exits_3(clip: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    clip.rename(src / "good.mkv")
    (src / "broken.mp4").write_bytes(b"not a video")
    assert main(["degrade", str(src), "-o", str(tmp_path / "o"), "--preset", "bicubic", "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "broken.mp4" in err and "Traceback" not in err
    assert len(pd.read_parquet(tmp_path / "o" / "manifest.parquet")) == 1


def test_sigint_exits_130_in_one_line_and_keeps_finished_clips(tmp_path: Path) -> None:
    out = tmp_path / "o"  # 50 clips of 2 frames: seconds of work, interrupted after the first
    cmd = [sys.executable, "-m", "vsrcore.cli", "degrade", str(sample_path("city")), "-o", str(out), "--quiet",
           "--preset", "realbasicvsr", "--clip-frames", "2"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            preexec_fn=testing.ctrl_c_reaches_child)  # fmt: skip
    deadline = time.monotonic() + 90
    while not finished_files(out / "records", ".json") and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the command ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stderr
    assert stderr.strip() == "flashvsr degrade: interrupted"
    done = len(finished_files(out / "records", ".json"))
    assert 0 < done < 50 and len(pd.read_parquet(out / "manifest.parquet")) == done
