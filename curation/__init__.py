"""Curation: raw footage and photos -> VSR shards, on one machine or a Ray cluster.

Importing this module imports no ray, torch or av. `PRESETS` and `STAGES` are the registered tables.
"""

from vsrcore.registry import Registry


PRESETS = Registry("curation preset")
PRESETS.add("vsr120k", "curation.config:vsr120k", description="FlashVSR VSR-120K recipe for >=1080p footage")
PRESETS.add("samples", "curation.config:samples", description="same stages, thresholds for the sample media")

STAGES = Registry("curation stage")
STAGES.add("probe", "curation.stages:ProbeStage", requires=("av",), resources="cpu")
STAGES.add("analyse", "curation.stages:AnalyseStage", requires=("av", "scenedetect", "cv2"), resources="cpu")
STAGES.add("score_models", "curation.stages:ModelScoreStage", requires=("torch",), resources="gpu-if-present")
STAGES.add("photo", "curation.stages:PhotoStage", requires=("cv2",), resources="cpu")
STAGES.add("export", "curation.stages:ExportStage", requires=("av",), resources="cpu")
