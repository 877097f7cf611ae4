"""Curation: raw footage and photos -> VSR shards, on one machine or a Ray cluster.

Importing this module imports no ray, torch or av. `PRESETS` is the registered table of curation recipes; the
stages themselves (curation.stages) are built by the pipeline from the recipe's config.
"""

from vsrcore.registry import Registry


PRESETS = Registry("curation preset")
PRESETS.add("vsr120k", "curation.config:vsr120k", description="FlashVSR VSR-120K recipe for >=1080p footage")
PRESETS.add("samples", "curation.config:samples", description="same stages, thresholds for the sample media")
