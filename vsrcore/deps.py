"""Optional-dependency checks shared by registries, stages and test skips."""

from __future__ import annotations

import importlib.util
from functools import cache

from vsrcore.errors import MissingDependency


# import name -> (pip requirement, extra of the flashvsr distribution that installs it)
_PIP_NAMES: dict[str, tuple[str, str]] = {
    "av": ("av", "core"),
    "torch": ("torch", "core"),
    "torchvision": ("torchvision", "core"),
    "decord": ("decord", "decord"),
    "ray": ("ray[data]", "curation"),
    "scenedetect": ("scenedetect", "curation"),
    "open_clip": ("open-clip-torch", "curation"),
    "pyiqa": ("pyiqa", "metrics"),
    "lpips": ("lpips", "metrics"),
    "imageio_ffmpeg": ("imageio-ffmpeg", "metrics"),
    "skvideo": ("scikit-video", "samples"),
    "skimage": ("scikit-image", "samples"),
    "cv2": ("opencv-python", "curation"),
}


@cache
def is_available(module: str) -> bool:
    """True when `module` can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(*modules: str, feature: str = "") -> None:
    """Raise MissingDependency naming the pip install command when any of `modules` is absent."""
    missing = [m for m in modules if not is_available(m)]
    if not missing:
        return
    pips = [_PIP_NAMES.get(m, (m, ""))[0] for m in missing]
    extras = sorted({_PIP_NAMES[m][1] for m in missing if m in _PIP_NAMES and _PIP_NAMES[m][1] != "core"})
    hint = f"pip install 'flashvsr[{','.join(extras)}]'" if extras else f"pip install {' '.join(pips)}"
    what = f"{feature} needs" if feature else "needs"
    raise MissingDependency(f"{what} {', '.join(pips)} (not installed); run: {hint}")
