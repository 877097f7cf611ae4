"""Pinned sha256 of third-party weights files that libraries (pyiqa, torchvision, CLIP) load themselves.

Those libraries may unpickle what they load (`torch.load(weights_only=False)`, TorchScript archives), so such a
file is handed to them only after `check_pinned` has matched it here (see `vsrcore.weights.third_party_load`):

- `level="full"`: the whole sha256 is pinned; a match means the file is the published one and its own loader
  may run on it. A mismatch is refused with one line (file, expected, actual) before anything is unpickled.
- `level="prefix"`: only the 8 hex digits the published file name carries are known (torchvision / pyiqa name
  files `<name>-<first 8 digits of the sha256>.pth`). A prefix is 32 bits and can be forged, so it is only a
  corruption check: such files load with every `torch.load` forced to `weights_only=True` (tensors and plain
  containers only), never through an unrestricted unpickler.

Where each full hash comes from is in `evidence`; none was recomputed from a download here (no network), except
where the evidence says so. Files not in this table are loaded only through safetensors or
`torch.load(weights_only=True)` (FlashVSR, the LAION head, open-clip, RAFT), or not at all (DOVER).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vsrcore.errors import UserFacingError


@dataclass(frozen=True)
class PinnedFile:
    """One known third-party weights file: its sha256 (full, or the prefix its name carries), size and origin."""

    sha256: str
    level: str  # "full" | "prefix"
    source: str
    evidence: str
    size: int | None = None


PINNED: dict[str, PinnedFile] = {
    "musiq_koniq_ckpt-e95806b9.pth": PinnedFile(
        "e95806b9eae5f3814c410f574ba8e552362bd5bc63d758ed5b97860f5d6185aa",
        "full",
        "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/musiq_koniq_ckpt-e95806b9.pth",
        "published in a public weights manifest for pyiqa 0.1.14.1 (pear-studio/story-canvas, "
        "library/lora-training/quality/musiq.json) with this size; agrees with the prefix in pyiqa's file name",
        size=108_610_983,
    ),
    "DISTS_weights-f5e65c96.pth": PinnedFile(
        "f5e65c96230b7f6ca995691647d482237e4cab8a50c5c4a5784f219ef0748218",
        "full",
        "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/DISTS_weights-f5e65c96.pth",
        "computed here from the DISTS authors' alpha/beta file as shipped in the torchmetrics 1.9.0 wheel "
        "(functional/image/dists_models/weights.pt, 12,288 bytes); pyiqa's copy carries the same sha256 prefix",
        size=12_288,
    ),
    "vgg16-397923af.pth": PinnedFile(
        "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
        "full",
        "https://download.pytorch.org/models/vgg16-397923af.pth",
        "published in a public project's pinned metric assets (vgg-backbone); agrees with torchvision's prefix",
    ),
    "RN50.pt": PinnedFile(
        "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762",
        "full",
        "https://openaipublic.azureedge.net/clip/models/"
        "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762/RN50.pt",
        "OpenAI's CLIP download URL carries the full sha256 (openai-clip and pyiqa's clip_model verify it)",
    ),
    "alexnet-owt-7be5be79.pth": PinnedFile(
        "7be5be79",
        "prefix",
        "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
        "torchvision's file name only: no published full sha256 found",
    ),
    "raft_large_C_T_SKHT_V2-ff5fadd5.pth": PinnedFile(
        "ff5fadd5",
        "prefix",
        "https://download.pytorch.org/models/raft_large_C_T_SKHT_V2-ff5fadd5.pth",
        "torchvision's file name only: no published full sha256 found",
    ),
}


class WeightsHashMismatch(UserFacingError):
    """A weights file whose sha256 differs from its pin; nothing was loaded from it."""

    def __init__(self, path: str | Path, expected: str, actual: str, level: str) -> None:
        self.path, self.expected, self.actual = str(path), expected, actual
        what = "sha256" if level == "full" else "sha256 prefix"
        super().__init__(
            f"{path}: {what} mismatch: expected {expected}, got {actual}; refused, nothing was loaded from it"
        )


_VERIFIED: dict[tuple[str, int, int], str] = {}  # (real path, size, mtime_ns) -> digest, so a file is hashed once


def file_digest(path: str | Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) for this process."""
    from vsrcore.hashing import file_sha256

    real = os.path.realpath(path)
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = file_sha256(real)
    return _VERIFIED[key]


def check_pinned(path: str | Path) -> str:
    """Check a file against its pin (by file name): 'full' (whole sha256 matches), 'prefix' (the name's prefix
    matches), or 'unpinned'. Raises WeightsHashMismatch (one line: file, expected, actual) otherwise."""
    pin = PINNED.get(Path(path).name)
    if pin is None:
        return "unpinned"
    digest = file_digest(path)
    if not digest.startswith(pin.sha256):
        raise WeightsHashMismatch(path, pin.sha256, digest, pin.level)
    return pin.level
