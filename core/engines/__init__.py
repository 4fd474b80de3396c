"""Engine registry: names -> engine classes and their option dataclasses.

Engines are imported lazily so that listing them, or validating a job, never
loads torch or a model library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from focuspull.errors import EngineError
from focuspull.settings import from_mapping

if TYPE_CHECKING:
    import torch

    from focuspull.aperture import ApertureSpec
    from focuspull.color import ColorConfig
    from focuspull.engines.base import Engine

# name -> (module, engine class, options class)
_ENGINES: dict[str, tuple[str, str, str]] = {
    "physical": ("focuspull.engines.physical", "PhysicalEngine", "PhysicalOptions"),
    "neural": ("focuspull.engines.neural", "NeuralEngine", "NeuralOptions"),
}


def engine_names() -> list[str]:
    return list(_ENGINES)


def _lookup(name: str) -> tuple[type, type]:
    if name not in _ENGINES:
        raise EngineError(f"engine.name: unknown engine {name!r}; expected one of {', '.join(_ENGINES)}")
    module_name, engine_cls, options_cls = _ENGINES[name]
    try:
        module = importlib.import_module(module_name)
        return getattr(module, engine_cls), getattr(module, options_cls)
    except ModuleNotFoundError as err:  # a missing extra (the engine class is imported lazily)
        raise EngineError(f"engine {name!r} is not available in this installation: {err}") from err


def options_class(name: str) -> type:
    return _lookup(name)[1]


def parse_options(name: str, options: Any) -> Any:
    """Validate engine options; errors name ``engine.options.<field>``."""
    return from_mapping(options_class(name), options, "engine.options")


def create_engine(
    name: str,
    options: Any,
    aperture: "ApertureSpec",
    device: "torch.device",
    color: "ColorConfig | None" = None,
) -> "Engine":
    """``options`` is JSON (validated here) or an already validated options object."""
    engine_cls, options_cls = _lookup(name)
    return engine_cls(from_mapping(options_cls, options, "engine.options"), aperture, device, color)
