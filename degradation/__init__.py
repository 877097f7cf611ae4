"""Reproducible synthetic degradations: HQ clip -> (LQ clip, full parameter record).

Importing this module imports no torch, cv2 or av; `PRESETS` lists the registered presets.

    from degradation.pipeline import degrade
    result = degrade(frames_u8, "realbasicvsr", seed=0, clip_id="abc")   # frames: uint8 (T, H, W, C)
    result.lq, result.gt, result.record
"""

from vsrcore.registry import Registry


PRESETS = Registry("degradation preset")
PRESETS.add(
    "realbasicvsr",
    "degradation.presets:RealBasicVSR",
    requires=("cv2", "av"),
    temporal="per_clip",
    kind="real",
    description="RealBasicVSR two-stage video degradation with codecs (DOVE/FlashVSR recipe)",
)
PRESETS.add(
    "realesrgan",
    "degradation.presets:RealESRGAN",
    requires=("cv2",),
    temporal="per_clip",
    kind="real",
    description="Real-ESRGAN second-order image degradation, one draw per clip",
)
PRESETS.add(
    "bicubic",
    "degradation.presets:Bicubic",
    temporal="per_clip",
    kind="bi",
    description="BI: MATLAB bicubic downscaling with antialiasing",
)
PRESETS.add(
    "bd",
    "degradation.presets:BlurDown",
    requires=("cv2",),
    temporal="per_clip",
    kind="bd",
    description="BD: Gaussian blur sigma 1.6, then keep every scale-th pixel",
)
