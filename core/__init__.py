"""focuspull: refocus scene-linear plates with keyframed focus and strength.

Importing this package is cheap: torch, numpy, OpenImageIO and OpenColorIO are
imported lazily by the modules that need them, so the CLI starts fast and the
job schema can be used anywhere.
"""

from focuspull.errors import FocusPullError

__version__ = "0.1.0"
__all__ = ["FocusPullError", "__version__"]
