"""Shared fixtures: tiny synthetic images written straight with OpenImageIO.

``write_exr`` does not go through ``focuspull.io`` so that reader tests do not
depend on the writer under test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest


def _write_exr(
    path: str | os.PathLike[str],
    pixels: Any = None,
    channels: Sequence[str] = ("R", "G", "B", "A"),
    *,
    size: tuple[int, int] = (16, 8),
    data_origin: tuple[int, int] = (0, 0),
    display_window: tuple[int, int, int, int] | None = None,
    formats: str | Sequence[str] = "half",
    compression: str = "zip",
    pixel_aspect: float | None = None,
    attributes: Mapping[str, str | int | float] | None = None,
    seed: int = 0,
) -> Path:
    """Write an EXR (or any OIIO format, by extension) and return its path.

    ``pixels``: ``(H, W, C)`` floats; default: seeded random values in -0.5..4
    (negative and above 1 on purpose) of ``size=(width, height)``.
    ``data_origin``: (x, y) of the data window; ``display_window``: (x, y,
    width, height), default the data window. ``formats``: one of half/float/
    uint8/uint16 or one per channel.
    """
    import numpy as np
    import OpenImageIO as oiio

    channels = tuple(channels)
    if pixels is None:
        rng = np.random.default_rng(seed)
        width, height = size
        pixels = rng.uniform(-0.5, 4.0, size=(height, width, len(channels)))
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, nchannels = pixels.shape
    assert nchannels == len(channels), (pixels.shape, channels)
    per_channel = [formats] * nchannels if isinstance(formats, str) else list(formats)
    spec = oiio.ImageSpec(width, height, nchannels, oiio.TypeDesc(per_channel[0]))
    if len(set(per_channel)) > 1:
        spec.channelformats = tuple(oiio.TypeDesc(f) for f in per_channel)
    spec.channelnames = channels
    if "A" in channels:
        spec.alpha_channel = channels.index("A")
    spec.x, spec.y = data_origin
    if display_window is None:
        display_window = (data_origin[0], data_origin[1], width, height)
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = display_window
    spec.attribute("compression", compression)
    if pixel_aspect is not None:
        spec.attribute("PixelAspectRatio", float(pixel_aspect))
    for key, value in (attributes or {}).items():
        spec.attribute(key, value)
    path = Path(path)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None, oiio.geterror()
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()
    return path


@pytest.fixture
def write_exr() -> Callable[..., Path]:
    """Factory fixture: ``write_exr(tmp_path / "a.exr", pixels, ("R","G","B"), ...)``."""
    return _write_exr


@pytest.fixture
def write_sequence_files(tmp_path: Path) -> Callable[..., Path]:
    """Factory fixture: ``write_sequence_files("plate.####.exr", [1001, 1002])``
    writes one tiny RGBA EXR per frame into ``tmp_path`` (frame f has every
    pixel equal to f / 1000 so a test can tell frames apart) and returns the
    folder. Uses ``SequencePattern`` to name the files."""

    def make(pattern: str, frames: Sequence[int], size: tuple[int, int] = (8, 4)) -> Path:
        import numpy as np

        from focuspull.io.patterns import SequencePattern

        seq = SequencePattern.parse(str(tmp_path / pattern))
        width, height = size
        for frame in frames:
            pixels = np.full((height, width, 4), frame / 1000.0, dtype=np.float32)
            _write_exr(seq.path(frame), pixels, formats="float")
        return tmp_path

    return make


@pytest.fixture(scope="module")
def torch_one_thread():
    """Tiny models on a shared 2-core machine: extra threads only spin-wait."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_neural_weights(tmp_path_factory):
    """A tiny randomly initialised Any-to-Bokeh saved in the released folder layout."""
    from focuspull.engines.neural.random_models import save_random_models

    return save_random_models(tmp_path_factory.mktemp("weights"), "tiny", seed=1)
