"""Reading images with OpenImageIO: every part, as float32 arrays.

Pixels are float32 ``(H, W, C)`` arrays of the data window, whatever the file
stores (half, float, 8/16-bit integers normalised to 0..1). Writing lives in
:mod:`focuspull.io.write` (re-exported here).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import OpenImageIO as oiio

from focuspull.errors import ImageDataError, ImageReadError
from focuspull.io.text import library_error, safe_text
from focuspull.io.write import PIXEL_FORMATS, write_image

__all__ = ["ImageFrame", "ImagePart", "read_image", "write_image", "PIXEL_FORMATS"]

log = logging.getLogger(__name__)


_RGBA_NAMES = ("R", "G", "B", "A")


@dataclass(frozen=True, eq=False)
class ImagePart:
    """One part (subimage) of a file: its data-window pixels, channels and spec
    (name, view, windows, tiling, MIP level count, attributes). Only the
    full-resolution level is read; the writer regenerates the others."""

    pixels: np.ndarray
    channels: tuple[str, ...]
    spec: Any
    index: int = 0


@dataclass(frozen=True, eq=False)
class ImageFrame:
    """One image: the first part's data-window pixels and spec, and every part.

    ``pixels``, ``channels`` and ``spec`` are those of part 0 (most files have
    one part); ``parts`` holds all of them, part 0 included. ``frame`` is the
    host frame number when the image belongs to a sequence (for messages).
    """

    pixels: np.ndarray
    channels: tuple[str, ...]
    spec: Any
    path: str
    parts: tuple[ImagePart, ...] = ()
    frame: int | None = None

    def __post_init__(self) -> None:
        if not self.parts:
            object.__setattr__(self, "parts", (ImagePart(self.pixels, self.channels, self.spec),))

    def for_part(self, index: int) -> "ImageFrame":
        """The same image with part ``index`` as its ``pixels``/``channels``/``spec``."""
        if index == 0 and self.parts[0].pixels is self.pixels:
            return self
        part = self.parts[index]
        return ImageFrame(part.pixels, part.channels, part.spec, self.path, self.parts, self.frame)

    @property
    def where(self) -> str:
        """``path`` or ``path: frame N``: how messages name this image."""
        return self.path if self.frame is None else f"{self.path}: frame {self.frame}"

    def index(self, name: str) -> int:
        """Index of channel ``name``; :class:`ImageDataError` naming the file and its
        channels when absent."""
        try:
            return self.channels.index(name)
        except ValueError:
            raise ImageDataError(
                f"{self.where}: no channel {name!r}; channels are {', '.join(self.channels)}"
            ) from None

    def channel(self, name: str) -> np.ndarray:
        """The ``(H, W)`` plane of channel ``name`` (a view, not a copy)."""
        return self.pixels[:, :, self.index(name)]

    @property
    def rgba_indices(self) -> tuple[int, ...]:
        """Indices of R, G, B and, when present, A.

        A lone ``Y`` (luminance) or other channels without R, G and B raise
        :class:`ImageDataError`: the engines need colour.
        """
        found = [self.channels.index(c) for c in _RGBA_NAMES if c in self.channels]
        if not all(c in self.channels for c in _RGBA_NAMES[:3]):
            hint = (
                " (a luminance-only image; convert it to RGB first)" if "Y" in self.channels else ""
            )
            raise ImageDataError(
                f"{self.where}: no R, G, B channels{hint}; channels are {', '.join(self.channels)}"
            )
        return tuple(found)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the data window."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])

    @property
    def pixel_aspect(self) -> float:
        """Width / height of a pixel as displayed (``PixelAspectRatio``); 1 when unknown."""
        if self.spec is None:
            return 1.0
        value = float(self.spec.get_float_attribute("PixelAspectRatio", 1.0))
        return value if value > 0 else 1.0

    @property
    def has_alpha(self) -> bool:
        return "A" in self.channels


def read_image(path: str, frame: int | None = None) -> ImageFrame:
    """Read every part (subimage) of ``path`` as float32 ``(H, W, C)`` arrays.

    Raises :class:`ImageReadError` naming the file (and ``frame`` when given)
    for a missing, unreadable, corrupt or truncated file, and for deep
    (multi-sample) images. Library messages are decoded safely.
    """
    path = os.fspath(path)
    where = path if frame is None else f"{path} (frame {frame})"
    inp = oiio.ImageInput.open(path)
    if inp is None:
        detail = library_error()
        if not os.path.exists(path):
            detail = "no such file"
        raise ImageReadError(f"cannot read {where}: {detail}")
    parts: list[ImagePart] = []
    try:
        index = 0
        while inp.seek_subimage(index, 0):
            parts.append(_read_part(inp, index, where))
            index += 1
        if not parts or inp.has_error:
            raise ImageReadError(f"cannot read {where}: {library_error(inp, 'no image in the file')}")
    except ImageReadError:
        raise
    except Exception as err:  # a binding error on a damaged file: still one clean line
        raise ImageReadError(f"cannot read {where}: {safe_text(lambda: str(err))}") from err
    finally:
        inp.close()
    first = parts[0]
    return ImageFrame(
        pixels=first.pixels, channels=first.channels, spec=first.spec, path=path, parts=tuple(parts), frame=frame
    )


def _read_part(inp: Any, index: int, where: str) -> ImagePart:
    spec = inp.spec()
    if spec.deep:
        raise ImageReadError(f"cannot read {where}: part {index} holds deep (multi-sample) pixels, which are not supported")
    pixels = inp.read_image(index, 0, 0, spec.nchannels, oiio.FLOAT)
    if pixels is None or inp.has_error:
        raise ImageReadError(f"cannot read {where}: {library_error(inp, 'read failed')}")
    # Copy the spec: the one owned by the ImageInput dies with it.
    spec = oiio.ImageSpec(spec)
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    elif pixels.ndim == 4:  # volume images come back (depth, H, W, C); keep the first slice
        pixels = pixels[0]
    channels = tuple(spec.channelnames)
    return ImagePart(pixels=pixels, channels=channels, spec=spec, index=index)


