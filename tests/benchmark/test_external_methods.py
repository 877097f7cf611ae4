"""External methods (DOVE, SeedVR2, STAR presets) through the real runner, with stand-in projects written here.

A stand-in is a small Python script placed where the project keeps its inference script, in a folder laid out like
its checkout: it takes the real script's options (same names and types, by argparse), reads the input layout the
real one reads and writes its output layout, and is *stricter* than the real one about the frame-count and size
rules (it exits non-zero where the real script would pad or crop itself), so a passing run shows that our padding
met the rule and our trimming undid it exactly. Its "SR" is nearest-neighbour upscaling, so the expected output is
known to the pixel. It runs in its own process, under the interpreter named by `--method-python`.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from benchmark.external_methods import (
    PRESETS,
    MethodSetupError,
    MissingCheckout,
    MissingMethodWeights,
    external_method,
)
from benchmark.methods import CommandMethod, Geometry, MethodError, ModelMethod
from benchmark.records import read_results
from tests.benchmark.user_folders import make_folder
from vsrcore import testing
from vsrcore.cli import main
from vsrcore.errors import MissingWeights


BALLAST_MB = 200  # resident memory each stand-in holds, which the measured peak RSS must show

_READ_VIDEO = """
def read_video(path):
    with av.open(path) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def write_video(path, frames):
    with av.open(path, "w") as c:
        s = c.add_stream("libx264rgb", rate=25)
        s.width, s.height, s.pix_fmt, s.options = frames.shape[2], frames.shape[1], "rgb24", {"qp": "0"}
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")))
        c.mux(s.encode())


ballast = np.ones(BALLAST_MB << 20, np.uint8)
"""

# DOVE inference_script.py (zhengchen1999/DOVE ad649cc): its parser; videos of input_dir by extension; with
# --png_save, frames <output_path>/<video stem>/%03d.png. Real DOVE pads to 8n+1 frames and 16-multiple sides itself.
FAKE_DOVE = (
    """
import argparse, glob, os, sys
import av, numpy as np
from PIL import Image
"""
    + _READ_VIDEO
    + """
p = argparse.ArgumentParser()
for name in ("--input_dir", "--input_json", "--gt_dir", "--model_path", "--lora_path"):
    p.add_argument(name, type=str, default=None)
p.add_argument("--eval_metrics", type=str, default="")
p.add_argument("--output_path", type=str, default="./results")
p.add_argument("--fps", type=int, default=16)
p.add_argument("--dtype", type=str, default="bfloat16")
p.add_argument("--seed", type=int, default=42)
p.add_argument("--upscale_mode", type=str, default="bilinear")
p.add_argument("--upscale", type=int, default=4)
p.add_argument("--noise_step", type=int, default=0)
p.add_argument("--sr_noise_step", type=int, default=399)
for flag in ("--is_cpu_offload", "--is_vae_st", "--png_save"):
    p.add_argument(flag, action="store_true")
p.add_argument("--save_format", type=str, default="yuv444p")
p.add_argument("--tile_size_hw", type=int, nargs=2, default=(0, 0))
p.add_argument("--overlap_hw", type=int, nargs=2, default=(32, 32))
p.add_argument("--chunk_len", type=int, default=0)
p.add_argument("--overlap_t", type=int, default=8)
a = p.parse_args()
assert os.path.isfile(os.path.join(a.model_path, "model_index.json")), "no diffusers pipeline at --model_path"
assert a.png_save and a.is_vae_st and a.seed == 7, (a.png_save, a.is_vae_st, a.seed)
files = sorted(f for e in (".mp4", ".avi", ".mov", ".mkv") for f in glob.glob(os.path.join(a.input_dir, "*" + e)))
if not files:
    sys.exit(f"No video files found in {a.input_dir}")
for path in files:
    lq = read_video(path)
    t, h, w, _ = lq.shape
    if (t - 1) % 8 or h % 16 or w % 16:
        sys.exit(f"stand-in DOVE: {path} is {lq.shape}, not 8n+1 frames of 16-multiple sides")
    sr = lq.repeat(a.upscale, axis=1).repeat(a.upscale, axis=2)
    out = os.path.join(a.output_path, os.path.basename(path)).rsplit(".", 1)[0]
    os.makedirs(out)
    for i, frame in enumerate(sr):
        Image.fromarray(frame).save(os.path.join(out, f"{i:03d}.png"))
"""
)

# SeedVR2 projects/inference_seedvr2_3b.py (ByteDance-Seed/SeedVR 673b563): launched by torchrun; reads
# ./configs_3b and ./ckpts relative to the working directory; every file of --video_path (images as one frame);
# area-resizes to res_h x res_w then centre-crops to 16-multiples; pads frames to 4*sp*n+1; writes the same name.
FAKE_SEEDVR2 = (
    """
import argparse, math, os, sys
import av, numpy as np
from PIL import Image
"""
    + _READ_VIDEO
    + """
assert "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ, "not launched by torchrun"
assert os.path.isfile("./ckpts/seedvr2_ema_3b.pth") and os.path.isfile("./ckpts/ema_vae.pth"), os.getcwd()
p = argparse.ArgumentParser()
p.add_argument("--video_path", type=str, default="./test_videos")
p.add_argument("--output_dir", type=str, default="./results")
p.add_argument("--seed", type=int, default=666)
p.add_argument("--res_h", type=int, default=720)
p.add_argument("--res_w", type=int, default=1280)
p.add_argument("--sp_size", type=int, default=1)
p.add_argument("--out_fps", type=float, default=None)
a = p.parse_args()
os.makedirs(a.output_dir, exist_ok=True)
for name in os.listdir(a.video_path):
    path = os.path.join(a.video_path, name)
    image = os.path.splitext(name.lower())[1] in {".jpg", ".jpeg", ".png", ".bmp", ".tiff", ".webp"}
    lq = np.asarray(Image.open(path).convert("RGB"))[None] if image else read_video(path)
    t, h, w, _ = lq.shape
    scale = math.sqrt(((a.res_h * a.res_w) ** 0.5) ** 2 / (h * w))
    rh, rw = round(h * scale), round(w * scale)
    if rh % 16 or rw % 16 or (t > 1 and (t - 1) % (4 * a.sp_size)):
        sys.exit(f"stand-in SeedVR2: {name} {lq.shape} would be cropped to 16-multiples or padded in time")
    sr = lq.repeat(rh // h, axis=1).repeat(rw // w, axis=2)
    out = os.path.join(a.output_dir, name)
    Image.fromarray(sr[0]).save(out) if t == 1 else write_video(out, sr)
"""
)


def _checkout(root: Path, script: str, text: str, files: tuple[str, ...]) -> Path:
    (root / script).parent.mkdir(parents=True, exist_ok=True)
    (root / script).write_text(f"BALLAST_MB = {BALLAST_MB}\n" + textwrap.dedent(text))
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_bytes(b"")
    return root


@pytest.fixture
def dove_dir(tmp_path: Path) -> Path:
    return _checkout(tmp_path / "DOVE", "inference_script.py", FAKE_DOVE, ("pretrained_models/DOVE/model_index.json",))


@pytest.fixture
def mine(tmp_path: Path) -> Path:
    """gt/ + lq/ clips of 4 frames at LQ 12x16 and 16x24 (neither a multiple of 16 both ways), plus a photo."""
    from vsrcore.video.write import write_image_sequence

    folder = make_folder(tmp_path / "mine")
    photo = testing.moving_texture(1, 40, 56, seed=3)
    write_image_sequence(folder / "gt" / "c", photo)
    write_image_sequence(folder / "lq" / "c", photo[:, ::4, ::4])
    return folder


def _lq(folder: Path) -> dict[str, np.ndarray]:
    from benchmark.datasets import user_dataset

    return {s.name: s.load().lq for s in user_dataset("mine", folder).sources(None)}


def _cached(out: Path, method: str, clip: str) -> np.ndarray:
    from vsrcore.video.decode import read_frames

    return read_frames(out / "outputs" / method / "mine" / "given" / f"{clip}.mkv")


def test_geometry_pads_to_each_rule_and_trims_back_exactly() -> None:
    dove, seedvr = PRESETS["dove"].geometry, PRESETS["seedvr2-3b"].geometry
    assert dove.padded_shape(4, 12, 16, 4) == (9, 16, 16)
    assert dove.padded_shape(1, 16, 33, 1) == (1, 16, 48) and dove.padded_shape(17, 32, 32, 4) == (17, 32, 32)
    assert seedvr.padded_shape(2, 12, 18, 4) == (5, 12, 20)  # 4x LQ a multiple of 16: LQ a multiple of 4
    assert seedvr.padded_shape(6, 12, 18, 3) == (9, 16, 32)  # x3: the LQ itself must be a multiple of 16
    lq = testing.moving_texture(5, 13, 19, seed=1)
    for g in (dove, seedvr, PRESETS["star"].geometry, Geometry(frame_multiple=3, lq_multiple=5, pad_mode="edge")):
        padded = g.pad(lq, 2)
        assert padded.shape[:3] == g.padded_shape(5, 13, 19, 2)
        assert np.array_equal(padded[:5, :13, :19], lq) and (padded[5:] == padded[4]).all()
        sr = padded.repeat(2, axis=1).repeat(2, axis=2)
        assert np.array_equal(g.trim(sr, lq.shape, 2, "x"), lq.repeat(2, axis=1).repeat(2, axis=2))
        with pytest.raises(MethodError, match=r"wrote frames .*, expected"):
            g.trim(sr[:, :-1], lq.shape, 2, "x")


def test_dove_preset_runs_its_checkout_through_the_runner(dove_dir: Path, mine: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    rc = main(
        ["bench", "--dataset", f"mine={mine}", "--methods", "bicubic", "--metrics", "psnr", "-o", str(out), "--quiet",
         "--method-dir", f"dove={dove_dir}", "--method-python", f"dove={sys.executable}", "--set", "dove.seed=7"]
    )  # fmt: skip
    assert rc == 0
    df = read_results(out)
    dove = df[df["method"] == "dove"].set_index(["clip", "metric"])
    assert (dove["status"] == "ok").all() and sorted(set(df["clip"])) == ["a", "b", "c"]
    # every output has the input's frame count and 4x its size, and is exactly the stand-in's SR, cut back
    for clip, lq in _lq(mine).items():
        assert np.array_equal(_cached(out, "dove", clip), lq.repeat(4, axis=1).repeat(4, axis=2)), clip
        assert dove.loc[(clip, "peak_rss_gb"), "value"] > BALLAST_MB / 1024
        assert dove.loc[(clip, "fps"), "value"] > 0
        assert "whole tool process" in dove.loc[(clip, "fps"), "metric_label"]
    assert ("a", "peak_mem_gb") not in dove.index  # no nvidia-smi here: no GPU number, never a made-up one
    prov = json.loads(dove["provenance"].iloc[0])["method"]
    assert prov["kind"] == "external" and prov["checked_commit"] == PRESETS["dove"].commit
    assert prov["checkout"] == str(dove_dir) and prov["options"] == {"seed": 7}


def test_seedvr2_preset_is_launched_by_torchrun_and_one_frame_clips_go_as_images(tmp_path: Path, mine: Path) -> None:
    ckpts = ("ckpts/seedvr2_ema_3b.pth", "ckpts/ema_vae.pth")
    checkout = _checkout(tmp_path / "SeedVR", "projects/inference_seedvr2_3b.py", FAKE_SEEDVR2, ckpts)
    method = external_method("seedvr2-3b", 4, checkout=checkout, python=sys.executable)
    method.build()
    lqs = _lq(mine)
    for clip in ("b", "c"):  # b: 4 frames of 16x24 (padded to 5 frames); c: one frame, 10x14 (padded to 12x16)
        sr = method(lqs[clip])
        assert np.array_equal(sr, lqs[clip].repeat(4, axis=1).repeat(4, axis=2)), clip
        assert method.last_run["peak_rss_gb"] > BALLAST_MB / 1024 and method.last_run["seconds"] > 0


def test_missing_checkout_or_weights_is_one_line_per_method_and_the_run_goes_on(
    tmp_path: Path, mine: Path, dove_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (dove_dir / "pretrained_models" / "DOVE" / "model_index.json").unlink()
    out = tmp_path / "out"
    rc = main(
        ["bench", "--dataset", f"mine={mine}", "--methods", "bicubic,star,seedvr2-7b", "--metrics", "psnr",
         "-o", str(out), "--quiet", "--method-dir", f"dove={dove_dir}", "--method-python", f"dove={sys.executable}"]
    )  # fmt: skip
    assert rc == 0  # missing for a stated reason is not an error
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all("will be recorded as missing" in line for line in err)
    df = read_results(out)
    assert (df[df["method"] == "bicubic"]["status"] == "ok").all()
    for method, status, reason in (
        ("dove", "missing-weights", f"{dove_dir}/pretrained_models/DOVE/model_index.json"),
        ("star", "missing-dependency", "star: no checkout given (--method-dir star=PATH"),
        ("seedvr2-7b", "missing-dependency", "github.com/ByteDance-Seed/SeedVR"),
    ):
        rows = df[df["method"] == method]
        assert len(rows) == 3 * 2 and (rows["status"] == status).all() and rows["value"].isna().all(), method
        assert rows["reason"].str.contains(reason, regex=False).all(), (method, rows["reason"].iloc[0])


def test_check_names_every_missing_piece(tmp_path: Path, dove_dir: Path) -> None:
    assert external_method("dove", 4, checkout=dove_dir, python=sys.executable).check() == []
    gone = external_method("dove", 4, checkout=tmp_path / "nowhere").check()
    assert len(gone) == 1 and isinstance(gone[0], MissingCheckout) and "is not a folder" in str(gone[0])
    problems = external_method("star", 4, checkout=dove_dir, python=str(tmp_path / "no-python")).check()
    assert [type(p) for p in problems] == [MissingCheckout, MissingCheckout, MissingMethodWeights]
    assert "has no video_super_resolution/scripts/inference_sr.py" in str(problems[0])
    assert "python interpreter" in str(problems[1]) and "--method-python star=" in str(problems[1])
    assert "pretrained_weight/heavy_deg.pt" in str(problems[2]) and "SherryX/STAR" in str(problems[2])
    weights = tmp_path / "light_deg.pt"
    weights.write_bytes(b"")
    star = external_method("star", 4, checkout=dove_dir, options={"weights": str(weights)})
    assert not any(isinstance(p, MissingWeights) for p in star.check())
    assert f"--model_path {weights} " in star.command(tmp_path, tmp_path, tmp_path / "clip.mp4", (64, 64))


def test_options_are_checked_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(MethodSetupError, match="did you mean 'seed'"):
        external_method("dove", 4, options={"sed": 1})
    with pytest.raises(MethodSetupError, match="reads its weights from <checkout>/ckpts"):
        external_method("seedvr2-3b", 4, options={"weights": "/w"})
    with pytest.raises(MethodSetupError, match="must be > 0"):
        external_method("seedvr2-7b", 4, options={"gpus": 0})
    two = external_method("seedvr2-7b", 4, options={"gpus": 2, "args": "--out_fps 24"})
    assert two.geometry.frame_multiple == 8  # 4n+1 frames per sequence-parallel rank
    cmd = two.command(Path("/i n"), Path("/o"), Path("/i n/clip.mp4"), (64, 96))
    assert cmd == (
        "python -m torch.distributed.run --standalone --nproc-per-node=2 projects/inference_seedvr2_7b.py "
        "--video_path '/i n' --output_dir /o --seed 666 --res_h 64 --res_w 96 --sp_size 2 --out_fps 24"
    )
    assert main(["bench", "--set", "dvoe.seed=1", "-o", str(tmp_path)]) == 2


def test_a_tool_that_overruns_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    slow = CommandMethod("slow", f"sleep 60 & echo $! > {pid_file}; wait", 4, timeout_s=1.0)
    with pytest.raises(MethodError, match="timed out after 1 s"):
        slow(testing.moving_texture(1, 8, 8))
    import os
    import time

    pid = int(pid_file.read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the tool's child {pid} outlived the timeout")


def test_official_flashvsr_precheck_asks_only_for_the_files_of_the_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLASHVSR_WEIGHTS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.cache/flashvsr/weights either
    with pytest.raises(MissingWeights) as tiny:
        ModelMethod("flashvsr-v1.1", 4, weights_dir=str(tmp_path)).build()
    assert "Wan2.1_VAE.pth" not in str(tiny.value)
    assert {"TCDecoder.ckpt", "LQ_proj_in.ckpt", "posi_prompt.pth"} <= {m.split("/")[-1] for m in tiny.value.missing}
    with pytest.raises(MissingWeights) as full:
        ModelMethod("flashvsr-v1.1", 4, weights_dir=str(tmp_path), mode="full").build()
    assert "Wan2.1_VAE.pth" in str(full.value) and "TCDecoder.ckpt" not in str(full.value)


def test_list_models_shows_the_presets_and_whether_they_can_run(
    dove_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["list", "models", "--method-dir", f"dove={dove_dir}", "--method-python", f"dove={sys.executable}"]) == 0
    )
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["dove"].split()[1] == "ready" and "[external, bench only]" in lines["dove"]
    for name in ("seedvr2-3b", "seedvr2-7b", "star"):
        assert lines[name].split()[1] == "missing" and "no checkout given" in lines[name]
