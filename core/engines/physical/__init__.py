"""The physical engine: a layered, occlusion-aware, HDR-correct lens renderer.

Importing this package imports torch; the engine registry imports it lazily.
"""

from focuspull.engines.physical.engine import PhysicalEngine
from focuspull.engines.physical.options import AUX_CHANNELS, PhysicalOptions

__all__ = ["AUX_CHANNELS", "PhysicalEngine", "PhysicalOptions"]
