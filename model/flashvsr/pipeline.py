"""The FlashVSR pipeline's public import path; each piece lives in the module that owns it:

- model/flashvsr/upscaler.py: `FlashVSRModel`, the streaming upscaler (its parts, one step of a stream);
- model/flashvsr/stream.py: the chunk state machine (which LR frames a step reads, which output frames it yields);
- model/flashvsr/tiling.py: the padded canvas, spatial tiles as independent streams, and their blending;
- model/flashvsr/build.py: `build_flashvsr` (a preset with its weights) and the single-file bundle format.
"""

from __future__ import annotations

from model.flashvsr.build import (
    BUNDLED_DIR,
    TINY_WEIGHTS_FILE,
    build_flashvsr,
    bundle_config,
    load_bundle,
    load_bundle_part,
)
from model.flashvsr.stream import FIRST_IN, FIRST_OUT, LOOKAHEAD, STEP
from model.flashvsr.tiling import Tile, pad_to_multiple, plan_tiles, upsample_lr
from model.flashvsr.upscaler import COMPAT, MODES, FlashVSRModel


__all__ = [
    "BUNDLED_DIR",
    "COMPAT",
    "FIRST_IN",
    "FIRST_OUT",
    "LOOKAHEAD",
    "MODES",
    "STEP",
    "TINY_WEIGHTS_FILE",
    "FlashVSRModel",
    "Tile",
    "build_flashvsr",
    "bundle_config",
    "load_bundle",
    "load_bundle_part",
    "pad_to_multiple",
    "plan_tiles",
    "upsample_lr",
]
