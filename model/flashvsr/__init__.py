"""FlashVSR architecture: config, block-sparse attention, DiT, LQ projection, Tiny Conditional Decoder.

Importing this package imports no torch; the submodules do:
`config` (FlashVSRConfig), `attention` (block masks + backends), `transformer` (WanDiT, KVCache),
`lq_proj` (LQProjection), `tc_decoder` (TCDecoder).
"""
