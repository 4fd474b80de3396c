"""The neural engine: Any-to-Bokeh one-step video diffusion (needs the ``neural`` extra and local weights).

Importing this package needs torch, diffusers and transformers; without the
latter two it raises an ImportError naming the extra to install (the engine
registry turns it into an EngineError). ``NeuralOptions`` alone lives in
``focuspull.engines.neural.options``, which imports neither.
"""

from focuspull.engines.neural.options import NeuralOptions

_EXTRA_MESSAGE = "the neural engine needs the 'neural' extra: pip install focuspull[neural]"

try:
    import diffusers  # noqa: F401
    import transformers  # noqa: F401
except ImportError as _err:
    # A ModuleNotFoundError (an ImportError) so the engine registry reports it
    # as "engine 'neural' is not available" with this message.
    raise ModuleNotFoundError(_EXTRA_MESSAGE, name=getattr(_err, "name", None)) from _err

from focuspull.engines.neural.engine import NeuralEngine  # noqa: E402

__all__ = ["NeuralEngine", "NeuralOptions"]
