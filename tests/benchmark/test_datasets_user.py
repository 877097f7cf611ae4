"""User datasets (`--dataset NAME=DIR`): layouts, the one-line layout errors, clips that fail alone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.datasets import DatasetError, UserDataset, get_dataset, read_clip, user_dataset
from tests.benchmark.user_folders import SIZES, add_broken_clips, hr_clip, make_folder, size_switching_video
from vsrcore.errors import MediaError
from vsrcore.video.write import write_image_sequence


@pytest.fixture(scope="module")
def paired(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("paired"))


def test_paired_videos_of_different_sizes(paired: Path) -> None:
    ds = user_dataset("mine", paired)
    assert ds.layout == "gt+lq" and ds.lq_variants(["bi", "bd"]) == [None]
    assert ds.protocol.has_gt and ds.protocol.scale == 4 and ds.protocol.lq_source == "given (lq/)"
    sources = ds.sources()
    assert [s.name for s in sources] == ["a", "b"] and all(s.has_gt for s in sources)
    for s in sources:
        c = s.load()
        h, w = SIZES[s.name]
        assert c.gt.shape == (4, h, w, 3) and c.lq.shape == (4, h // 4, w // 4, 3) and c.fps == 25
        assert c.gt.dtype == np.uint8 and c.lq_seed is None


def test_lq_only_scores_without_reference_and_gt_only_synthesises(tmp_path: Path) -> None:
    lq_only = user_dataset("lqonly", make_folder(tmp_path / "l", gt=False))
    assert lq_only.layout == "lq" and not lq_only.protocol.has_gt
    (s,) = [s for s in lq_only.sources() if s.name == "a"]
    assert not s.has_gt and s.load().gt is None

    gt_only = user_dataset("gtonly", make_folder(tmp_path / "g", lq=False), seed=3)
    decoded_gt = read_clip(tmp_path / "g" / "gt" / "b.mp4")[0]
    assert gt_only.layout == "gt" and gt_only.lq_variants([None]) == ["bi"]
    assert gt_only.lq_variants(["bd", "realbasicvsr", "bd"]) == ["bd", "realbasicvsr"]
    c = gt_only.sources(lq="bd")[1].load()
    assert c.name == "b" and c.gt.shape == (4, 64, 96, 3) and c.lq.shape == (4, 16, 24, 3)
    assert c.lq_seed == 3 and c.record["preset"] == "bd" and c.record["seed"] == 3
    assert c.record["clip_id"] == "gtonly/b"
    np.testing.assert_array_equal(c.gt, decoded_gt)  # the reference is the GT itself, not the preset's target
    with pytest.raises(DatasetError, match="did you mean 'bd'"):
        gt_only.sources(lq="bdd")


def test_frame_folders_images_and_mod_crop(tmp_path: Path) -> None:
    hr = hr_clip("f", 50, 66, 3)  # not a multiple of 4: the GT is mod-cropped as BasicSR does
    write_image_sequence(tmp_path / "gt" / "f", hr)
    write_image_sequence(tmp_path / "lq" / "f", hr[:, ::4, ::4][:, :12, :16])
    from PIL import Image

    Image.fromarray(hr[0, :48, :64]).save(tmp_path / "gt" / "beach day.png")  # any readable name is a clip name
    Image.fromarray(hr[0, :12, :16]).save(tmp_path / "lq" / "beach day.jpg")
    (tmp_path / "lq" / ".DS_Store").write_bytes(b"\0")  # hidden files are not clips
    clips = {s.name: s.load() for s in user_dataset("mine", tmp_path).sources()}
    assert sorted(clips) == ["beach day", "f"]
    assert clips["f"].gt.shape == (3, 48, 64, 3) and clips["f"].lq.shape == (3, 12, 16, 3)
    assert clips["beach day"].gt.shape == (1, 48, 64, 3) and clips["beach day"].lq.shape == (1, 12, 16, 3)


def _layout_error(root: Path) -> str:
    with pytest.raises(DatasetError) as e:
        user_dataset("mine", root).verify()
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_layout_errors_name_the_first_problem_in_one_line(tmp_path: Path, paired: Path) -> None:
    assert "is not a folder" in _layout_error(tmp_path / "absent")
    assert "has neither gt/ nor lq/" in _layout_error(tmp_path)

    (tmp_path / "lq").mkdir()
    assert f"{tmp_path / 'lq'}: empty folder" in _layout_error(tmp_path)

    root = tmp_path / "orphan"
    shutil.copytree(paired, root)
    (root / "gt" / "b.mp4").unlink()
    assert _layout_error(root) == f"{root / 'lq' / 'b.mp4'}: lq clip with no gt partner (expected {root / 'gt'}/b.*)"

    (root / "gt" / "b.mp4").write_bytes((paired / "gt" / "a.mp4").read_bytes())  # a 64x48 GT for a 24x16 LQ
    assert "lq/b.mp4: 24x16 is not the gt size 64x48 / scale 4 (= 16x12)" in _layout_error(root)
    (root / "gt" / "b.mp4").write_bytes((paired / "gt" / "b.mp4").read_bytes())

    (root / "lq" / "notes.txt").write_text("hello")
    assert "lq/notes.txt: not a video file, an image or a frame folder" in _layout_error(root)
    (root / "lq" / "notes.txt").unlink()

    (root / "gt" / "c").mkdir()
    assert "gt/c: empty frame folder" in _layout_error(root)
    (root / "gt" / "c").rmdir()

    os.close(os.open(os.fsencode(root / "lq") + b"/\xff\xfe.mp4", os.O_CREAT | os.O_WRONLY))
    assert "unreadable file name (not UTF-8)" in _layout_error(root)


def test_a_clip_that_does_not_decode_or_changes_size_fails_alone(tmp_path: Path) -> None:
    root = make_folder(tmp_path)
    add_broken_clips(root)
    sources = {s.name: s for s in user_dataset("mine", root).sources()}  # the layout itself is fine
    assert sorted(sources) == ["a", "b", "junk", "switch"]
    with pytest.raises(MediaError, match=r"lq/junk\.mp4: not a readable media file"):
        sources["junk"].load()
    with pytest.raises(MediaError, match=r"lq/switch\.mpg: frame 2 is 24x16 but frame 0 is 16x12"):
        sources["switch"].load()
    assert sources["a"].load().lq.shape == (4, 12, 16, 3)


def test_a_frame_folder_whose_frames_change_size_names_the_frame(tmp_path: Path) -> None:
    from PIL import Image

    write_image_sequence(tmp_path / "f", hr_clip("f", 12, 16, 3))
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "f" / "00000002.png")
    with pytest.raises(MediaError, match=r"f/00000002\.png: frame 2 is 20x20 but frame 0 is 16x12"):
        read_clip(tmp_path / "f")
    frames, fps = read_clip(size_switching_video(tmp_path / "ok.mpg", ((16, 16),)))
    assert frames.shape == (3, 16, 16, 3) and fps == 25


def test_user_dataset_options_are_checked(paired: Path) -> None:
    with pytest.raises(DatasetError, match="did you mean 'scale'"):
        user_dataset("mine", paired, scael=2)
    with pytest.raises(DatasetError, match="registered dataset"):
        user_dataset("samples", paired)
    with pytest.raises(DatasetError, match="letters, digits"):
        user_dataset("../up", paired)
    with pytest.raises(DatasetError, match="unknown frames spec"):
        user_dataset("mine", paired, frames="middle")
    ds = user_dataset("mine", paired, scale="4", seed="7", frames="first:2", crop_border="2")
    assert ds == UserDataset("mine", paired, scale=4, seed=7, frames="first:2", crop_border=2)
    assert ds.sources()[0].load().lq.shape[0] == 2


def test_registered_folder_sets_keep_their_own_lq(tmp_path: Path) -> None:
    ds = get_dataset("vid4")
    assert ds.lq_variants(["bi", "bd"]) == [None]
    for clip in ("calendar", "city", "foliage", "walk"):
        write_image_sequence(tmp_path / "Vid4/GT" / clip, np.zeros((2, 64, 64, 3), np.uint8))
        write_image_sequence(tmp_path / "Vid4/BIx4" / clip, np.zeros((2, 16, 16, 3), np.uint8))
    with pytest.raises(DatasetError, match="has its own LQ"):
        ds.sources(tmp_path, lq="bi")
    assert [s.name for s in ds.sources(tmp_path)] == ["calendar", "city", "foliage", "walk"]


def test_link_loops_and_broken_links_are_named_for_what_they_are(tmp_path: Path) -> None:
    from tests.hostile_inputs import hostile_media

    looped = hostile_media(tmp_path / "media", ("symlink-loop",))["symlink-loop"].parent
    root = tmp_path / "set"
    root.mkdir()
    (root / "gt").symlink_to(looped, target_is_directory=True)
    with pytest.raises(DatasetError, match=r"gt/a\.mp4: symbolic link loop \(a\.mp4 -> b\.mp4 leads back to itself\)"):
        user_dataset("mine", root).verify()
    for name in ("a.mp4", "b.mp4"):
        (looped / name).unlink()
    with pytest.raises(DatasetError, match=r"gt/self: symbolic link loop \(folder link to '\.', the folder holding"):
        user_dataset("mine", root).verify()
    (looped / "self").unlink()
    (looped / "gone.mp4").symlink_to("nowhere.mp4")
    with pytest.raises(DatasetError, match=r"gt/gone\.mp4: broken symbolic link \(to 'nowhere\.mp4'"):
        user_dataset("mine", root).verify()


def test_a_clip_too_small_for_the_scale_names_the_file_and_its_real_size(tmp_path: Path) -> None:
    from tests.hostile_inputs import hostile_media

    for case in ("1x1-png", "1x1-video"):
        made = hostile_media(tmp_path / case, (case,))[case]
        root = tmp_path / f"set-{case}"
        (root / "gt").mkdir(parents=True)
        shutil.copy(made, root / "gt" / made.name)
        (source,) = user_dataset("mine", root).sources(lq="bi")
        with pytest.raises(MediaError) as e:
            source.load()
        assert str(e.value).startswith(f"{root / 'gt' / made.name}: frames of 1x1 are too small for x4"), e.value


def test_an_animated_gif_is_a_clip(tmp_path: Path) -> None:
    from tests.hostile_inputs import hostile_media

    gif = hostile_media(tmp_path / "made", ("gif",))["gif"]
    (tmp_path / "set" / "gt").mkdir(parents=True)
    shutil.copy(gif, tmp_path / "set" / "gt" / gif.name)
    (source,) = user_dataset("mine", tmp_path / "set").sources(lq="bi")
    clip = source.load()
    assert source.name == "anim" and clip.gt.shape == (6, 48, 64, 3) and clip.lq.shape == (6, 12, 16, 3)
