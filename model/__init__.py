"""Upscalers: FlashVSR presets and interpolation baselines, one registry, one interface (`model.base.VSRModel`).

Importing this package imports no torch. `MODELS.build(name, scale=..., device=..., ...)` imports the target then.
FlashVSR entries take the weights options (`weights_dir`, `allow_random_weights`) and the inference options of
`model.flashvsr.pipeline.build_flashvsr`; the baselines accept and ignore what they do not use.
"""

from vsrcore.registry import Registry


MODELS = Registry("model")
MODELS.add("flashvsr-v1", "model.flashvsr.pipeline:build_flashvsr", kwargs={"preset": "flashvsr-v1"},
           needs_weights=True, weights="flashvsr-v1", official=True)  # fmt: skip
MODELS.add("flashvsr-v1.1", "model.flashvsr.pipeline:build_flashvsr", kwargs={"preset": "flashvsr-v1.1"},
           needs_weights=True, weights="flashvsr-v1.1", official=True)  # fmt: skip
MODELS.add("flashvsr-tiny", "model.flashvsr.pipeline:build_flashvsr", kwargs={"preset": "flashvsr-tiny"},
           needs_weights=True, weights="flashvsr-tiny", official=False)  # fmt: skip
MODELS.add("bicubic", "model.baselines:Bicubic", needs_weights=False, official=False)
MODELS.add("lanczos", "model.baselines:Lanczos", needs_weights=False, official=False)

__all__ = ["MODELS"]
