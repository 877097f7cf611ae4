"""Video I/O: probing, decoding, random access, writing, cutting and audio passthrough.

Everything here imports PyAV (and decord) lazily, inside functions. Frames on disk and in I/O are
`uint8` RGB arrays `(T, H, W, C)`; see `vsrcore.tensors` for the model-side convention.
"""

from vsrcore.video.types import AudioStreamMeta, Span, VideoMeta


__all__ = ["AudioStreamMeta", "Span", "VideoMeta"]
