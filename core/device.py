"""Choosing the torch device."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from focuspull.errors import EngineError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


def resolve_device(name: str = "auto") -> "torch.device":
    """``auto`` is CUDA when present, else the CPU; ``cuda`` without a GPU is an error."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError(f"device {name!r} was asked for but torch sees no CUDA device; use --device cpu or auto")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise EngineError(f"device {name!r} is not valid: {err}") from err
    log.info("rendering on %s", device)
    return device
