"""Every method the benchmark can run, by name: registered models, command methods (`benchmark.methods`) and the
external presets (`benchmark.external_methods`, themselves command methods). Apart from both so that the presets
can build on `benchmark.methods` without it importing them back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from benchmark.methods import COMMAND_METHODS, CommandMethod, ModelMethod


def method_names() -> list[str]:
    """Every runnable method name: registered models, command methods, then external presets."""
    from benchmark.external_methods import PRESETS
    from model import MODELS

    return MODELS.names() + sorted(COMMAND_METHODS) + list(PRESETS)


def make_method(
    name: str,
    scale: int,
    *,
    device: str | None = None,
    weights_dir: str | None = None,
    commands: Mapping[str, str | CommandMethod] | None = None,
) -> ModelMethod | CommandMethod:
    """The method called `name`: a model, a command method or an external preset. `commands` adds user templates
    and configured command methods (an external preset bound to its checkout ...), given at any scale."""
    from benchmark.external_methods import PRESETS, external_method
    from model import MODELS

    templates = {**COMMAND_METHODS, **(commands or {})}
    if name in templates:
        given = templates[name]
        return replace(given, scale=scale) if isinstance(given, CommandMethod) else CommandMethod(name, given, scale)
    if name in PRESETS:
        return external_method(name, scale)  # no checkout: every cell is recorded as missing, with the reason
    MODELS.spec(name)  # KeyError with suggestions for an unknown name
    return ModelMethod(name, scale, device, weights_dir)
