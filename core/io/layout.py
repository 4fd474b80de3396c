"""What an image holds: parts, views and layers, and which of them to refocus.

Pure bookkeeping over channel names and part attributes (no pixels), so the
rules can be tested and shown (``focuspull info``) without reading a frame.

* **Parts** are the subimages of a multi-part EXR, each with its own name,
  channels, data window and attributes.
* **Views** (stereo): a part with a ``view`` attribute belongs to that view
  (one part per view); in a single part, a ``multiView`` attribute lists the
  views, channels without a view prefix belong to the first (default) view
  and ``right.R`` to view ``right``.
* **Layers** group channels by what comes before the last dot: ``diffuse.R``
  is component R of layer ``diffuse``; ``R`` belongs to the unnamed default
  layer, called ``rgba``. An image layer has R, G and B (and maybe A).

Names on the command line: a layer as ``diffuse`` or ``PART.diffuse`` (``rgba``
for the default layer), a channel as ``Z``, ``depth.Z`` or ``PART.CHANNEL``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from focuspull.errors import ImageDataError, JobError

__all__ = ["Layer", "PartInfo", "Layout", "Unit", "layout_of", "layout_from_header", "parse_views", "parse_channels",
           "plan_units"]

DEFAULT_LAYER = "rgba"
_COLOUR = ("R", "G", "B")


@dataclass(frozen=True)
class PartInfo:
    index: int
    name: str
    view: str
    channels: tuple[str, ...]
    #: views listed by a multiView attribute (single-part stereo), else ()
    multi_view: tuple[str, ...] = ()


@dataclass(frozen=True)
class Layer:
    """An image layer of one view: its R, G, B (and A) channels in one part."""

    part: int
    part_name: str
    view: str
    name: str  # "rgba" for the unnamed layer
    channels: tuple[str, ...]  # full channel names, in R, G, B(, A) order

    @property
    def label(self) -> str:
        where = f"{self.part_name or f'part {self.part}'}." if self.part_name or self.part else ""
        view = f" (view {self.view})" if self.view else ""
        return f"{where}{self.name}{view}"


@dataclass(frozen=True)
class Layout:
    """The parts of one image and the views and layers found in them."""

    parts: tuple[PartInfo, ...]
    where: str = ""

    # -- views --------------------------------------------------------------
    @property
    def views(self) -> tuple[str, ...]:
        """The views in file order, default first; () for a file without views."""
        seen: list[str] = []
        for part in self.parts:
            for view in (part.multi_view or ((part.view,) if part.view else ())):
                if view not in seen:
                    seen.append(view)
        return tuple(seen)

    @property
    def default_view(self) -> str:
        return self.views[0] if self.views else ""

    def channel_view(self, part: PartInfo, channel: str) -> tuple[str, str]:
        """(view, name without the view prefix) of a channel."""
        if part.multi_view:
            head, dot, rest = channel.partition(".")
            if dot and head in part.multi_view[1:]:
                return head, rest
            return part.multi_view[0], channel
        return part.view, channel

    # -- layers -------------------------------------------------------------
    def layers(self, view: str | None = None) -> tuple[Layer, ...]:
        """Image layers (R, G, B present) of ``view`` (default: the default view;
        parts without a view belong to every view), in file order."""
        view = self.default_view if view is None else view
        found: list[Layer] = []
        for part in self.parts:
            groups: dict[str, dict[str, str]] = {}
            for channel in part.channels:
                channel_view, name = self.channel_view(part, channel)
                if channel_view and channel_view != view:
                    continue
                layer, _, component = name.rpartition(".")
                groups.setdefault(layer or DEFAULT_LAYER, {})[component] = channel
            for name, components in groups.items():
                if all(c in components for c in _COLOUR):
                    order = [components[c] for c in (*_COLOUR, "A") if c in components]
                    found.append(Layer(part.index, part.name, view, name, tuple(order)))
        return tuple(found)

    def find_layer(self, text: str | None, view: str | None = None) -> Layer:
        """The layer ``text`` names (``diffuse``, ``PART.diffuse``, ``PART``,
        ``rgba``); None: the first image layer of the view."""
        layers = self.layers(view)
        if not layers:
            raise ImageDataError(
                f"{self.where}: no image layer (R, G, B) in view {view or self.default_view or '(none)'}; "
                f"{self.describe()}"
            )
        if not text:
            return layers[0]
        for layer in layers:
            if text in (layer.name, f"{layer.part_name}.{layer.name}") or (
                text == layer.part_name and layer.name == DEFAULT_LAYER
            ):
                return layer
        raise ImageDataError(
            f"{self.where}: no layer {text!r}; layers are {', '.join(l.label for l in layers)}"
        )

    def same_layer(self, layer: Layer, view: str) -> Layer | None:
        """``layer`` in another view (same layer name), or None."""
        for other in self.layers(view):
            if other.name == layer.name and (other.part_name == layer.part_name or other.view):
                return other
        return None

    # -- channels -----------------------------------------------------------
    def find_channel(self, text: str, view: str | None = None, prefer_part: int | None = None) -> tuple[int, str] | None:
        """(part, full channel name) of ``text`` in ``view``: ``Z``, ``depth.Z`` or
        ``PART.CHANNEL``; the preferred part first, then the view's own parts,
        then parts without a view. None when absent."""
        view = self.default_view if view is None else view
        candidates: list[tuple[int, int, str]] = []
        for part in self.parts:
            for channel in part.channels:
                channel_view, name = self.channel_view(part, channel)
                if channel_view and channel_view != view:
                    continue
                if text == name or (part.name and text == f"{part.name}.{name}"):
                    rank = 0 if part.index == prefer_part else 1 if channel_view == view and view else 2
                    candidates.append((rank, part.index, channel))
        if not candidates:
            return None
        _, part_index, channel = min(candidates)
        return part_index, channel

    def describe(self) -> str:
        """Every part with its channels, for error messages."""
        return "; ".join(
            f"part {p.index}{f' {p.name!r}' if p.name else ''}{f' (view {p.view})' if p.view else ''}: "
            f"{', '.join(p.channels)}"
            for p in self.parts
        )


def layout_of(parts: Sequence[Any], where: str = "") -> Layout:
    """The layout of parts read by :func:`focuspull.io.image.read_image` (objects
    with ``index``, ``channels`` and ``spec``)."""
    from focuspull.io.header import multi_view_of
    from focuspull.io.text import safe_text

    def text(spec: Any, key: str) -> str:
        return safe_text(lambda: spec.get_string_attribute(key, "")) if spec is not None else ""

    return Layout(
        tuple(
            PartInfo(part.index, text(part.spec, "name"), text(part.spec, "view"), tuple(part.channels),
                     tuple(multi_view_of(part.spec)) if part.spec is not None else ())
            for part in parts
        ),
        where,
    )


def layout_from_header(header: dict[str, Any], where: str = "") -> Layout:
    """The layout of a file from :func:`focuspull.io.header.read_header` (no pixels read)."""
    return Layout(
        tuple(
            PartInfo(i, p["name"], p["view"], tuple(p["channels"]), tuple(p.get("multi_view") or ()))
            for i, p in enumerate(header["parts"])
        ),
        where,
    )


def parse_views(text: str | None, layout: Layout) -> tuple[str, ...]:
    """The views to refocus: all (None, "", "all") or a comma list that must exist."""
    views = layout.views
    if not text or text == "all":
        return views or ("",)
    wanted = tuple(v.strip() for v in text.split(",") if v.strip())
    if not views:
        raise ImageDataError(f"{layout.where}: --views {text}: the image has no views")
    unknown = [v for v in wanted if v not in views]
    if unknown:
        raise ImageDataError(f"{layout.where}: no view {', '.join(unknown)}; views are {', '.join(views)}")
    return wanted


def parse_channels(text: str | None) -> str | tuple[str, ...]:
    """``rgba`` (default), ``all``, or a tuple of layer names."""
    if not text or text == DEFAULT_LAYER:
        return DEFAULT_LAYER
    if text == "all":
        return "all"
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise JobError(f"channels: {text!r} is not rgba, all or a comma list of layers")
    return names


@dataclass(frozen=True)
class Unit:
    """One image layer of one view to refocus, and where its depth is.

    ``depth`` is (part, channel) in the image, or None when the depth comes
    from a separate sequence.
    """

    layer: Layer
    depth: tuple[int, str] | None


def plan_units(
    layout: Layout,
    *,
    layer: str | None = None,
    depth_channel: str | None = None,
    depth_guesses: Sequence[str] = (),
    channels: str | None = None,
    views: str | None = None,
    depth_in_image: bool = True,
) -> tuple[Unit, ...]:
    """Every (view, layer) to refocus, the plate's main layer of the main view first.

    The main layer is ``layer`` (default: the first image layer of the view);
    ``channels`` adds other layers (``all``: every image layer; a list: those);
    each view in ``views`` (default: all) gets the same layers, with its own
    depth channel when it has one, else the shared one.
    """
    selected = parse_views(views, layout)
    default = layout.default_view
    ordered = sorted(selected, key=lambda v: v != default)
    wanted = parse_channels(channels)
    main_default = layout.find_layer(layer, ordered[0] if ordered[0] else None)
    units: list[Unit] = []
    for view in ordered:
        view_arg = view if view else None
        main = main_default if view == ordered[0] else (
            (layout.find_layer(layer, view) if layer else layout.same_layer(main_default, view))
            or layout.find_layer(None, view)
        )
        layers = [main]
        if wanted == "all":
            layers += [l for l in layout.layers(view_arg) if l != main]
        elif wanted != DEFAULT_LAYER:
            for name in wanted:
                extra = layout.find_layer(name, view_arg)
                if extra not in layers:
                    layers.append(extra)
        depth = _depth_of(layout, view_arg, main, depth_channel, depth_guesses) if depth_in_image else None
        if depth is not None:
            # the depth layer itself is data, never blurred
            layers = [l for l in layers if not (l.part == depth[0] and depth[1] in l.channels)]
        units += [Unit(l, depth) for l in layers]
    return tuple(units)


def _depth_of(
    layout: Layout, view: str | None, main: Layer, text: str | None, guesses: Sequence[str]
) -> tuple[int, str]:
    for name in (text,) if text else tuple(guesses):
        found = layout.find_channel(name, view, prefer_part=main.part)
        if found is not None:
            return found
    what = f"no depth channel {text!r}" if text else f"no depth channel found (looked for {', '.join(guesses)})"
    in_view = f" in view {view}" if view else ""
    raise ImageDataError(
        f"{layout.where}: {what}{in_view}; {layout.describe()}. Name one with --depth-channel "
        "(CHANNEL or PART.CHANNEL) or give --depth PATTERN"
    )
