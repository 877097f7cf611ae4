"""Training for FlashVSR: data on the fly, stage 0 (tiny video autoencoder), stages 1-3 and the TCDecoder.

Layering: `training` sits in the top layer beside `curation` and `benchmark`, so it may import `model`,
`degradation` and `vsrcore` (which stay independent of each other). Importing this package imports no torch;
the submodules do:

- `training.data`: dataset over VSR shards or plain folders, random crops, on-the-fly degradation, packing.
- `training.autoencoder`: the causal tiny video autoencoder (stage 0; 4x temporal, 8x spatial).
- `training.packed`: the DiT forward over packed image/video rows with segment masks (stage 1).
- `training.losses`: flow matching, DMD, optional LPIPS.
- `training.stages`: one small step function per stage.
- `training.checkpoint`: safetensors + JSON checkpoints, atomic, resumable.
- `training.trainer`: the loop (logging, bf16 autocast, gradient checkpointing, DDP).
- `training.cli`: `flashvsr train`.
"""

STAGES: tuple[str, ...] = ("0", "1", "2", "3", "decoder")
"""Stage names accepted by `flashvsr train --stage`."""
