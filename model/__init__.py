"""Upscalers: FlashVSR presets and interpolation baselines, one registry, one interface (`model.base.VSRModel`).

Importing this package imports no torch. `MODELS.build(name, scale=..., device=..., ...)` imports the target then.
FlashVSR entries take the weights options (`weights_dir`, `allow_random_weights`) and the inference options of
`model.flashvsr.build.build_flashvsr`; the baselines accept and ignore what they do not use.
"""

from vsrcore.registry import Registry


MODELS = Registry("model")
# Metadata read by `flashvsr list models` without importing torch: `description`, `weights` (a vsrcore.weights.WEIGHTS
# key) or `bundled` ("package:path" of a file shipped in the package, searched after the weights folders).
_FLASHVSR = {"requires": ("torch", "safetensors"), "needs_weights": True}
MODELS.add("flashvsr-v1", "model.flashvsr.build:build_flashvsr", kwargs={"preset": "flashvsr-v1"},
           weights="flashvsr-v1", official=True, **_FLASHVSR,
           description="FlashVSR v1 (released weights; Wan2.1-1.3B DiT, one step, streaming)")  # fmt: skip
MODELS.add("flashvsr-v1.1", "model.flashvsr.build:build_flashvsr", kwargs={"preset": "flashvsr-v1.1"},
           weights="flashvsr-v1.1", official=True, **_FLASHVSR,
           description="FlashVSR v1.1 (released weights; the default)")  # fmt: skip
MODELS.add("flashvsr-tiny", "model.flashvsr.build:build_flashvsr", kwargs={"preset": "flashvsr-tiny"},
           weights="flashvsr-tiny", bundled="model.flashvsr:bundled/flashvsr-tiny.safetensors", official=False,
           **_FLASHVSR, description="the FlashVSR architecture at small widths, trained here")  # fmt: skip
MODELS.add("bicubic", "model.baselines:Bicubic", requires=("torch",), needs_weights=False, official=False,
           description="bicubic interpolation baseline")  # fmt: skip
MODELS.add("lanczos", "model.baselines:Lanczos", requires=("torch",), needs_weights=False, official=False,
           description="Lanczos interpolation baseline")  # fmt: skip

__all__ = ["MODELS"]
