"""Builders of the EXR layouts that production delivers, written with
OpenImageIO directly (not through focuspull.io), for the EXR-case tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio


@dataclass
class Part:
    pixels: np.ndarray  # (H, W, C)
    channels: Sequence[str]
    name: str = ""
    view: str = ""
    formats: str | Sequence[str] = "half"
    origin: tuple[int, int] = (0, 0)
    display: tuple[int, int, int, int] | None = None  # x, y, width, height
    tiles: int = 0
    mipmap: bool = False
    attributes: Mapping[str, Any] = field(default_factory=dict)


def _spec(part: Part) -> Any:
    pixels = part.pixels
    height, width, nchannels = pixels.shape
    formats = [part.formats] * nchannels if isinstance(part.formats, str) else list(part.formats)
    spec = oiio.ImageSpec(width, height, nchannels, oiio.TypeDesc(formats[0]))
    if len(set(formats)) > 1:
        spec.channelformats = tuple(oiio.TypeDesc(f) for f in formats)
    spec.channelnames = tuple(part.channels)
    spec.x, spec.y = part.origin
    display = part.display or (part.origin[0], part.origin[1], width, height)
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = display
    spec.attribute("compression", "zip")
    if part.name:
        spec.attribute("name", part.name)
    if part.view:
        spec.attribute("view", part.view)
    if part.tiles:
        spec.tile_width = spec.tile_height = part.tiles
    if part.mipmap:
        spec.attribute("textureformat", "Plain Texture")
    for key, value in part.attributes.items():
        if isinstance(value, tuple):
            kind = "string" if isinstance(value[0], str) else "float"
            spec.attribute(key, oiio.TypeDesc(f"{kind}[{len(value)}]"), value)
        else:
            spec.attribute(key, value)
    return spec


def write_exr_parts(path: Path, parts: Sequence[Part]) -> Path:
    """Write ``parts`` (one or more; mip-mapped ones get box-filtered levels)."""
    specs = [_spec(p) for p in parts]
    out = oiio.ImageOutput.create(str(path))
    assert out is not None
    assert (out.open(str(path), specs[0]) if len(specs) == 1 else out.open(str(path), specs)), out.geterror()
    for i, (part, spec) in enumerate(zip(parts, specs)):
        if i:
            assert out.open(str(path), spec, "AppendSubimage"), out.geterror()
        pixels = np.ascontiguousarray(part.pixels, dtype=np.float32)
        assert out.write_image(pixels), out.geterror()
        if part.mipmap:
            height, width, nchannels = pixels.shape
            buf = oiio.ImageBuf(oiio.ImageSpec(width, height, nchannels, oiio.FLOAT))
            buf.set_pixels(oiio.ROI(0, width, 0, height, 0, 1, 0, nchannels), pixels)
            while width > 1 or height > 1:
                width, height = max(1, width // 2), max(1, height // 2)
                level = oiio.ImageSpec(spec)
                level.width, level.height = width, height
                assert out.open(str(path), level, "AppendMIPLevel"), out.geterror()
                small = oiio.ImageBufAlgo.resize(buf, filtername="box", roi=oiio.ROI(0, width, 0, height, 0, 1, 0, nchannels))
                assert out.write_image(small.get_pixels(oiio.FLOAT)), out.geterror()
    assert out.close()
    return path


@dataclass
class ReadPart:
    spec: Any
    pixels: np.ndarray
    levels: list[np.ndarray]

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.spec.channelnames)

    @property
    def window(self) -> tuple[int, int, int, int]:
        s = self.spec
        return s.x, s.y, s.width, s.height

    def attr(self, name: str, default: Any = None) -> Any:
        value = self.spec.getattribute(name)
        return default if value is None else value

    def channel(self, name: str) -> np.ndarray:
        return self.pixels[..., self.channels.index(name)]

    def formats(self) -> list[str]:
        return [str(self.spec.channelformat(i)) for i in range(len(self.channels))]


def read_parts(path: Path) -> list[ReadPart]:
    """Every part and every MIP level of ``path``; asserts that each reads cleanly."""
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    parts = []
    index = 0
    while inp.seek_subimage(index, 0):
        spec = oiio.ImageSpec(inp.spec())
        levels = []
        level = 0
        while inp.seek_subimage(index, level):
            nchannels = inp.spec().nchannels
            pixels = inp.read_image(index, level, 0, nchannels, oiio.FLOAT)
            assert pixels is not None and not inp.has_error, (index, level, inp.geterror())
            levels.append(np.asarray(pixels).reshape(inp.spec().height, inp.spec().width, nchannels))
            level += 1
        parts.append(ReadPart(spec, levels[0], levels))
        index += 1
    inp.close()
    return parts
