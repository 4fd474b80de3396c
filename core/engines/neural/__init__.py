"""The neural engine: Any-to-Bokeh one-step video diffusion (needs the ``neural`` extra and local weights).

The pure parts (``options``, ``conditioning``, ``clips``, ``plate``) import
with torch alone, so they are usable and testable without the extra.
``NeuralEngine`` is imported on first use: without diffusers and transformers
that raises an ImportError naming the extra to install (the engine registry
turns it into an EngineError).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from focuspull.engines.neural.options import NeuralOptions

if TYPE_CHECKING:
    from focuspull.engines.neural.engine import NeuralEngine

_EXTRA_MESSAGE = "the neural engine needs the 'neural' extra: pip install focuspull[neural]"

__all__ = ["NeuralEngine", "NeuralOptions"]


def __getattr__(name: str) -> Any:
    if name != "NeuralEngine":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        import diffusers  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as err:
        # A ModuleNotFoundError (an ImportError) so the engine registry reports it
        # as "engine 'neural' is not available" with this message.
        raise ModuleNotFoundError(_EXTRA_MESSAGE, name=getattr(err, "name", None)) from err
    from focuspull.engines.neural.engine import NeuralEngine

    return NeuralEngine
