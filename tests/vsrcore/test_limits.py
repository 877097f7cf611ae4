"""The pixel cap (vsrcore.limits): images checked from the PNG/JPEG header, videos from the stream parameters,
both before a full frame is decoded; PIL's decompression-bomb error becomes the same one-line error."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from tests.hostile_inputs import bomb_png, png_bytes
from vsrcore import testing
from vsrcore.errors import UserFacingError
from vsrcore.limits import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_ENV,
    PixelCapExceeded,
    add_max_pixels_argument,
    check_frame_size,
    max_pixels,
    set_max_pixels,
)
from vsrcore.video.decode import read_frames
from vsrcore.video.image import decode_image
from vsrcore.video.write import read_image, write_video


def test_default_cap_env_and_setter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_PIXELS_ENV, "1")  # recorded, so the teardown restores the variable set_max_pixels sets
    monkeypatch.delenv(MAX_PIXELS_ENV)
    assert max_pixels() == DEFAULT_MAX_PIXELS == 64_000_000
    set_max_pixels(1000)  # through the environment, so worker processes inherit it
    assert max_pixels() == 1000
    set_max_pixels(None)
    assert max_pixels() == 1000
    monkeypatch.setenv(MAX_PIXELS_ENV, "many")
    with pytest.raises(UserFacingError, match="not a number of pixels"):
        max_pixels()
    with pytest.raises(UserFacingError, match="at least 1"):
        set_max_pixels(0)


def test_max_pixels_argument_parses_counts_and_megapixels() -> None:
    parser = argparse.ArgumentParser()
    add_max_pixels_argument(parser)
    assert parser.parse_args([]).max_pixels is None
    assert parser.parse_args(["--max-pixels", "64M"]).max_pixels == 64_000_000
    assert parser.parse_args(["--max-pixels", "1000"]).max_pixels == 1000


def test_check_frame_size_boundary() -> None:
    check_frame_size("x.png", 8000, 8000)  # exactly 64 MP is allowed
    with pytest.raises(PixelCapExceeded, match=r"x\.png: declared frame size 8001x8000 \(64\.0 MP\)"):
        check_frame_size("x.png", 8001, 8000)
    check_frame_size("x.mkv", 0, 0)  # not declared: the decoder checks the first frame


def test_images_are_capped_from_the_header(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png(100_000, 100_000))
    with pytest.raises(PixelCapExceeded) as e:
        read_image(bomb)
    assert str(e.value).startswith(f"{bomb}: declared image size is above the pixel cap of 64 MP")
    assert "\n" not in str(e.value)
    over = tmp_path / "over.png"
    over.write_bytes(bomb_png(9000, 8000))
    with pytest.raises(PixelCapExceeded, match=r"9000x8000 \(72\.0 MP\) is above the pixel cap of 64 MP"):
        read_image(over)
    with pytest.raises(PixelCapExceeded, match="<image bytes>: declared frame size 9000x8000"):
        decode_image(bomb_png(9000, 8000))
    assert decode_image(png_bytes()).shape == (24, 32, 3)


def test_a_raised_cap_lets_pil_decode_what_its_own_guard_would_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # PIL refuses above 2 x 100 pixels
    assert decode_image(png_bytes(24, 32)).shape == (24, 32, 3)  # 768 pixels: allowed by our 64 MP cap


def test_videos_are_capped_from_the_stream_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = write_video(tmp_path / "c.mkv", testing.moving_texture(3, 48, 64), fps=25, codec="ffv1")
    assert read_frames(clip).shape == (3, 48, 64, 3)
    monkeypatch.setenv(MAX_PIXELS_ENV, str(48 * 64 - 1))
    with pytest.raises(PixelCapExceeded, match=r"c\.mkv: declared frame size 64x48 \(0\.0 MP\) is above the pixel"):
        read_frames(clip)


def test_random_access_reader_applies_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vsrcore.video.random_access import sample_frames

    clip = write_video(tmp_path / "c.mkv", testing.moving_texture(3, 48, 64), fps=25, codec="ffv1")
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")
    with pytest.raises(PixelCapExceeded, match="above the pixel cap"):
        sample_frames(clip, [0, 2], backend="pyav")
    monkeypatch.delenv(MAX_PIXELS_ENV)
    assert np.asarray(sample_frames(clip, [0, 2], backend="pyav")).shape == (2, 48, 64, 3)


def test_decoded_bytes_setting_parses_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    from vsrcore.limits import MAX_DECODED_BYTES_ENV, add_input_limit_arguments, apply_input_limits, max_decoded_bytes

    parser = argparse.ArgumentParser()
    add_input_limit_arguments(parser)
    monkeypatch.setenv(MAX_DECODED_BYTES_ENV, "8G")
    assert max_decoded_bytes() == 8 << 30
    apply_input_limits(parser.parse_args(["--max-decoded-bytes", "1.5M"]))
    assert max_decoded_bytes() == int(1.5 * (1 << 20))
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-decoded-bytes", "lots"])
    monkeypatch.setenv(MAX_DECODED_BYTES_ENV, "lots")
    with pytest.raises(UserFacingError, match="not a number of bytes"):
        max_decoded_bytes()


def test_degrade_records_an_item_over_the_decoded_bytes_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from vsrcore.cli import main

    monkeypatch.setenv("FLASHVSR_MAX_DECODED_BYTES", str(8 << 30))  # restored after the test
    src = tmp_path / "in"
    src.mkdir()
    write_video(src / "big.mkv", testing.moving_texture(6, 48, 64), fps=25, codec="ffv1")
    write_video(src / "small.mkv", testing.moving_texture(2, 48, 64), fps=25, codec="ffv1")
    out = tmp_path / "out"
    budget = str(4 * 48 * 64 * 3)  # 4 frames
    rc = main(["degrade", str(src), "-o", str(out), "--preset", "bicubic", "--max-decoded-bytes", budget, "--quiet"])
    assert rc == 3
    failed = [json.loads(line) for line in (out / "failed.jsonl").read_text().splitlines()]
    assert len(failed) == 1 and "big.mkv" in failed[0]["error"] and "decoded-bytes budget" in failed[0]["error"]
    assert len(list((out / "records").glob("small-*.json"))) == 1
