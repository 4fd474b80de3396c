"""Putting a refocused frame back together: every part of the input, with the
refocused layers replaced, in data windows grown to hold the blur.

Passed-through channels keep their values and types; a part that holds a
refocused layer takes its grown window (its other channels are zero outside
their old data window, which is what "outside the data window" meant). Every
part's header says what was refocused and what passed through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from focuspull.io.image import ImageFrame
from focuspull.io.layout import Layer
from focuspull.io.windows import Window, place
from focuspull.io.write import PartOut

__all__ = ["Rendered", "output_parts"]


@dataclass(frozen=True, eq=False)
class Rendered:
    """A refocused layer: pixels (H, W, C) in the output colour space covering ``window``."""

    layer: Layer
    pixels: np.ndarray
    window: Window


def _stored_format(spec: Any, channel: int) -> str:
    # half and float pass through exactly; anything else (uint IDs) becomes
    # float: the OpenImageIO build used writes no uint EXR channels.
    return "half" if str(spec.channelformat(channel)) == "half" else "float"


def output_parts(
    image: ImageFrame,
    rendered: Sequence[Rendered],
    *,
    pixel_type: str,
    aux: Mapping[str, np.ndarray] | None = None,
    attributes: Mapping[str, Any] | None = None,
    color_attributes: Mapping[str, Any] | None = None,
    color_remove: Sequence[str] = (),
) -> list[PartOut]:
    """One :class:`PartOut` per part of ``image``.

    ``aux`` channels (diagnostics) join the part of the first rendered layer.
    ``attributes`` go on every part; ``color_attributes``/``color_remove`` on
    the parts whose colour was converted (those holding a refocused layer).
    """
    by_part: dict[int, list[Rendered]] = {}
    for item in rendered:
        by_part.setdefault(item.layer.part, []).append(item)
    refocused = [f"{r.layer.label}" for r in rendered]
    passed = [
        f"{part.index}:{channel}" if len(image.parts) > 1 else channel
        for part in image.parts
        for channel in part.channels
        if not any(channel in r.layer.channels for r in by_part.get(part.index, ()))
    ]
    summary = {
        "focuspull/refocused": ", ".join(refocused),
        "focuspull/passed_through": ", ".join(passed) if passed else "(none)",
    }
    out = []
    for part in image.parts:
        items = by_part.get(part.index, [])
        source = Window.data(part.spec)
        formats = [_stored_format(part.spec, i) for i in range(len(part.channels))]
        channels = list(part.channels)
        if not items:
            out.append(PartOut(part.pixels, channels, part.spec, formats, {**(attributes or {}), **summary}))
            continue
        window = items[0].window
        pixels = place(part.pixels, source, window, fill="zero").astype(np.float32, copy=True)
        for item in items:
            indices = [channels.index(c) for c in item.layer.channels]
            pixels[..., indices] = item.pixels
            for i in indices:
                formats[i] = pixel_type
        if aux and items[0] is rendered[0]:
            pixels = np.concatenate([pixels] + [a[..., None] for a in aux.values()], axis=-1)
            channels += list(aux)
            formats += ["float"] * len(aux)
        out.append(
            PartOut(
                pixels,
                channels,
                part.spec,
                formats,
                {**(attributes or {}), **summary, **(color_attributes or {})},
                remove=tuple(color_remove),
                data_origin=window.origin,
            )
        )
    return out
