"""FlashVSR's streaming chunk state machine: which LR frames each step reads and which output frames it yields.

Frame indexing follows the released pipelines (reference/flashvsr.md §2.3, §2.6), per step of the stream:

| step  | LR frames fed to the LQ projection | latents (RoPE frames)   | decoded / output frames |
|-------|------------------------------------|-------------------------|-------------------------|
| 0     | 0 .. 24                            | 6 (0 .. 5)              | 0 .. 20                 |
| i >= 1| 8i+17 .. 8i+24                     | 2 (4+2i, 5+2i)          | 8i+13 .. 8i+20          |

so output frame j needs LR frames up to j + 4 (the model's lookahead). `ChunkStream` holds the LR frames not yet
consumed (at most 25 + the last pushed chunk), says when the next step can run, trims a step's output to the
stream's length, and at the end pads the input by repeating its last frame. It knows nothing of the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


FIRST_IN, FIRST_OUT, STEP = 25, 21, 8  # LR frames / output frames of step 0; frames per later step
LOOKAHEAD = FIRST_IN - FIRST_OUT


@dataclass(frozen=True)
class StepPlan:
    """Step `index` of a stream: LR frames [lq[0], lq[1]) go to the LQ projection, output frames
    [out[0], out[1]) come out; `latents` latent frames at temporal RoPE index `rope_offset` on."""

    index: int
    lq: tuple[int, int]
    out: tuple[int, int]
    latents: int
    rope_offset: int


def step_plan(i: int) -> StepPlan:
    """The table above, for step i."""
    if i == 0:
        return StepPlan(0, (0, FIRST_IN), (0, FIRST_OUT), 6, 0)
    a = STEP * i + FIRST_IN - STEP
    return StepPlan(i, (a, a + STEP), (a - LOOKAHEAD, a + STEP - LOOKAHEAD), 2, 4 + 2 * i)


class ChunkStream:
    """The LR frames (T, C, h, w) of one stream, from the first push to the last output frame.

    `output_frames`: how many frames the stream yields in all; None: as many as it received (the default rule).
    """

    def __init__(self, output_frames: int | None = None) -> None:
        self.output_frames = output_frames
        self.step = 0  # the next step to run
        self.received = 0
        self.emitted = 0
        self._buf: Tensor | None = None  # LR frames not yet consumed, starting at global index self._buf_start
        self._buf_start = 0

    @property
    def started(self) -> bool:
        return self._buf is not None

    def target(self) -> int:
        """How many output frames this stream has (so far)."""
        return self.received if self.output_frames is None else self.output_frames

    def append(self, frames: Tensor) -> None:
        self._buf = frames if self._buf is None else torch.cat([self._buf, frames])
        self.received += frames.shape[0]

    def needed(self) -> int:
        """LR frames (global count) the next step consumes."""
        return FIRST_IN + STEP * self.step

    def ready(self) -> bool:
        """The next step has all its LR frames and output is still owed."""
        return self._end() >= self.needed() and self.pending()

    def pending(self) -> bool:
        return self.emitted < self.target()

    def pad_end(self) -> None:
        """End of input: repeat the last frame until the next step has its frames."""
        assert self._buf is not None
        missing = self.needed() - self._end()
        if missing > 0:
            self._buf = torch.cat([self._buf, self._buf[-1:].expand(missing, -1, -1, -1)])

    def frames(self, start: int, end: int) -> Tensor:
        """Buffered LR frames [start, end) (global indices)."""
        assert self._buf is not None
        return self._buf[start - self._buf_start : end - self._buf_start]

    def complete(self, plan: StepPlan, out: Tensor) -> Tensor:
        """Step `plan` produced `out` (frames from plan.out[0] on): the frames the stream still owes; moves on to
        the next step and drops the LR frames no later step reads (it reads from its first output frame on)."""
        keep = min(out.shape[0], self.target() - plan.out[0])
        self.emitted = plan.out[0] + keep
        self.step = plan.index + 1
        first_needed = step_plan(self.step).out[0]
        if self._buf is not None and first_needed > self._buf_start:
            self._buf = self._buf[first_needed - self._buf_start :]
            self._buf_start = first_needed
        return out[: max(keep, 0)]

    def buffered(self) -> int:
        return 0 if self._buf is None else self._buf.shape[0]

    def _end(self) -> int:
        return self._buf_start + self.buffered()
