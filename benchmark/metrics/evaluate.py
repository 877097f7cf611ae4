"""Score clips with a set of registered metrics, turning failures into outcomes instead of exceptions.

    metrics = MetricSet(["psnr_y", "lpips", "niqe"], device="cpu", weights_dir=None)
    for outcome in metrics.score(pred, ref):        # pred/ref: float [0, 1] (T, C, H, W) or uint8 (T, H, W, C)
        outcome.metric, outcome.value, outcome.status, outcome.reason

A metric whose weights are missing yields status 'missing-weights' and value None (never a number);
a missing optional package or module yields 'missing-dependency'; anything else that fails, 'error'.
Each metric is built once (the first time it is needed) and reused for every clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.metrics import METRICS, metric_info
from vsrcore.errors import MissingDependency, MissingWeights


@dataclass
class MetricOutcome:
    """One metric on one clip: value (None unless status is 'ok'), status, reason, metric metadata."""

    metric: str
    value: float | None
    status: str
    reason: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def classify(exc: BaseException) -> str:
    """The record status for an exception raised while building or running a metric."""
    if isinstance(exc, MissingWeights):
        return "missing-weights"
    if isinstance(exc, (MissingDependency, ImportError)):
        return "missing-dependency"
    return "error"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class MetricSet:
    """Registered metrics built once, with options (`crop_border`, ...) per metric or for all."""

    def __init__(
        self,
        names: Sequence[str],
        *,
        device: str | None = None,
        weights_dir: str | Path | None = None,
        options: dict[str, dict[str, Any]] | None = None,
        crop_border: int | None = None,
    ) -> None:
        for n in names:
            METRICS.spec(n)  # unknown names fail now, with suggestions
        self.names = list(names)
        self.device = device
        self.weights_dir = weights_dir
        self.options = {n: dict((options or {}).get(n, {})) for n in names}
        if crop_border is not None:
            for n in names:
                if METRICS.spec(n).meta.get("needs_reference") or METRICS.spec(n).meta.get("per") == "frame":
                    self.options[n].setdefault("crop_border", crop_border)
        self._built: dict[str, Any] = {}
        self._failed: dict[str, BaseException] = {}

    def metric(self, name: str) -> Any:
        """The built metric (raises the build error, remembered, on every call)."""
        if name in self._failed:
            raise self._failed[name]
        if name not in self._built:
            try:
                self._built[name] = METRICS.build(
                    name, device=self.device, weights_dir=self.weights_dir, **self.options[name]
                )
            except Exception as e:  # recorded per clip, never fatal
                self._failed[name] = e
                raise
        return self._built[name]

    def protocol(self, name: str) -> dict[str, Any]:
        """The options a metric runs with (crop, colour space ...) merged over its registered kwargs."""
        info = metric_info(name)
        return {**info["kwargs"], **self.options[name], "space": info.get("space")}

    def score(self, pred: Any, ref: Any = None, names: Sequence[str] | None = None) -> list[MetricOutcome]:
        """Every metric (or those of `names`) on one clip; a metric needing a reference is an 'error' outcome when
        `ref` is None."""
        out = []
        for name in self.names if names is None else names:
            meta = metric_info(name)
            if meta["needs_reference"] and ref is None:
                out.append(MetricOutcome(name, None, "error", "needs a reference clip (this dataset has no GT)", meta))
                continue
            try:
                value = float(self.metric(name)(pred, ref))
                out.append(MetricOutcome(name, value, "ok", "", meta))
            except Exception as e:
                out.append(MetricOutcome(name, None, classify(e), _reason(e), meta))
        return out
