"""Colour labels in image headers: read them, and never write one that lies.

The rule (README, "What EXR files focuspull reads and writes"):

* The plate's colour space is the one the user names (``--input-colorspace``).
  When the user names none and the header does (``colorInteropID``, which OIIO
  also shows as ``oiio:ColorSpace``, or a colour-space name the OCIO config
  knows), that one is used, and the log says so. Otherwise the config's
  ``scene_linear`` role is assumed, and nothing is claimed about it.
* The output keeps every colour attribute of the input (``chromaticities``,
  ``colorInteropID``, ``whiteLuminance``, ...) when it is written in the
  colour space it was read in. A label is added only when the user named the
  space and the header had none.
* When the output is converted to another colour space (or the user's
  ``--input-colorspace`` overrides what the header said), the input's colour
  attributes would now be false: they are removed and the output space is
  written (its interop ID when the config has one).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from focuspull.color import ColorConfig

__all__ = ["HEADER_COLOR_ATTRIBUTES", "InputColorspace", "input_colorspace", "output_color_attributes"]

log = logging.getLogger(__name__)

#: Header attributes that say which colour space the pixels are in.
LABEL_ATTRIBUTES = ("colorInteropID", "oiio:ColorSpace")
#: Every attribute that describes the pixels' colour; dropped when converting.
HEADER_COLOR_ATTRIBUTES = (*LABEL_ATTRIBUTES, "chromaticities", "adoptedNeutral", "whiteLuminance", "acesImageContainerFlag")


@dataclass(frozen=True)
class InputColorspace:
    """The plate's colour space and where it came from: job, header or default."""

    name: str
    source: str  # "job" | "header" | "default"
    header_label: str = field(default="")
    #: the header's label names this same space
    header_agrees: bool = False


def header_label(metadata: Mapping[str, Any]) -> str:
    """The colour-space name the header gives, else ""."""
    for name in LABEL_ATTRIBUTES:
        value = metadata.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def input_colorspace(
    color: "ColorConfig", requested: str | None, metadata: Mapping[str, Any], where: str
) -> InputColorspace:
    """Resolve the plate's colour space: the job's, else the header's, else scene_linear."""
    from focuspull.errors import ColorError

    label = header_label(metadata)
    if requested:
        name = color.resolve(requested)
        agrees = not label or _resolves_to(color, label, name)
        if not agrees:
            log.warning("%s: the header says the plate is %s but the job says %s; using %s and relabelling "
                        "the output", where, label, requested, name)
        return InputColorspace(name, "job", label, bool(label) and agrees)
    if label:
        try:
            name = color.resolve(label)
        except ColorError:
            log.warning("%s: the header names colour space %r, which OCIO config %s does not know; assuming "
                        "the scene_linear role (%s) and keeping the header's label", where, label, color.source,
                        color.scene_linear)
            return InputColorspace(color.scene_linear, "default", label)
        log.info("%s: input colour space %s, from the header (%s)", where, name, label)
        return InputColorspace(name, "header", label, True)
    return InputColorspace(color.scene_linear, "default", "")


def output_color_attributes(
    color: "ColorConfig", source: InputColorspace, output: str
) -> tuple[dict[str, str], tuple[str, ...]]:
    """``(attributes to set, attributes to remove)`` for the output header."""
    if output != source.name:  # converted: the input's colour attributes are false now
        return _label(color, output), HEADER_COLOR_ATTRIBUTES
    if source.source != "job" or source.header_agrees:
        return {}, ()  # the input's own labels (or none) are still true
    if source.header_label:  # the user overrode what the header said
        return _label(color, output), HEADER_COLOR_ATTRIBUTES
    return _label(color, output), ()  # the user said what the data is; the header did not


def _resolves_to(color: "ColorConfig", label: str, name: str) -> bool:
    from focuspull.errors import ColorError

    try:
        return color.resolve(label) == name
    except ColorError:
        return False


def _label(color: "ColorConfig", name: str) -> dict[str, str]:
    space = color.config.getColorSpace(name)
    interop = str(space.getInteropID() or "") if space is not None and hasattr(space, "getInteropID") else ""
    # OIIO turns oiio:ColorSpace into the EXR colorInteropID; give it the ID when
    # the config has one, so readers that know only IDs understand it.
    return {"oiio:ColorSpace": interop or name, **({"colorInteropID": interop} if interop else {})}
