"""Writing images with OpenImageIO: every part, atomically, never claiming more
than the file holds.

Writing keeps the windows, tiling, pixel aspect and metadata of a template
``ImageSpec`` (normally the input part's). A mip-mapped template gets every
MIP level regenerated from the new pixels (box filter, the template's rounding
mode; a multi-part file, where OIIO writes one level, gets one level and a
``focuspull/mip_levels`` attribute saying so); attributes that describe the old pixels (average colour, hashes, level
counts) are not copied. The file is written to a temporary name in the same
folder and renamed into place, so a Read node never sees a half-written frame.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import OpenImageIO as oiio

from focuspull.errors import FocusPullError, OutputError
from focuspull.io.text import library_error

__all__ = ["PIXEL_FORMATS", "PartOut", "write_image", "write_parts"]

log = logging.getLogger(__name__)

PIXEL_FORMATS = ("half", "float", "uint8", "uint16", "uint32")

# Header attributes that describe the file that was read, not the one being
# written: OIIO or the EXR library recomputes them, and copying them over would
# lie about the new file (or make OIIO refuse to write it).
_DROP_ATTRIBUTES = frozenset(
    {
        "oiio:subimages",
        "oiio:subimagename",
        "oiio:miplevels",
        "oiio:BitsPerSample",
        "oiio:RowsPerChunk",
        "oiio:UnassociatedAlpha",
        "oiio:Gamma",
        # statements about the old pixels
        "oiio:AverageColor",
        "oiio:ConstantColor",
        "oiio:SHA-1",
        "openexr:chunkCount",
        "openexr:version",
        "openexr:levelmode",
        "textureformat",
        "chunkCount",
        "version",
        "type",
        "tiles",
        "dataWindow",
        "displayWindow",
        "channels",
    }
)
#: OIIO writes MIP levels only for this texture format.
_MIPMAP_FORMAT = "Plain Texture"


@dataclass(frozen=True, eq=False)
class PartOut:
    """One part to write: pixels of its data window and how to label them.

    ``template``: the spec whose windows, tiling and metadata are kept.
    ``data_origin``: (x, y) of the data window when it differs from the
    template's (a grown window); the size is the pixels'. ``remove``: template
    attributes not to copy. A mip-mapped template gets every level regenerated.
    """

    pixels: np.ndarray
    channels: Sequence[str]
    template: Any | None = None
    channel_formats: Sequence[str] | str | None = None
    attributes: Mapping[str, Any] | None = None
    remove: Sequence[str] = ()
    data_origin: tuple[int, int] | None = None


def _type_of(name: str, what: str) -> Any:
    if name not in PIXEL_FORMATS:
        raise OutputError(f"{what}: unknown pixel format {name!r}; expected one of {PIXEL_FORMATS}")
    return oiio.TypeDesc(name)


def _channel_types(
    path: str,
    channels: Sequence[str],
    channel_formats: Sequence[str] | str | None,
    template: Any | None,
) -> list[str]:
    if isinstance(channel_formats, str):
        return [channel_formats] * len(channels)
    if channel_formats is not None:
        formats = list(channel_formats)
        if len(formats) != len(channels):
            raise OutputError(
                f"{path}: {len(formats)} channel formats for {len(channels)} channels "
                f"({', '.join(channels)})"
            )
        return formats
    if template is None:
        return ["float"] * len(channels)
    # A channel that exists in the template keeps its stored format; new ones
    # (e.g. diagnostics) take the template's main format.
    template_names = list(template.channelnames)
    template_formats = [str(t) for t in template.channelformats] or [str(template.format)] * len(
        template_names
    )
    default = str(template.format)
    # An 8/16-bit plate (JPEG, PNG) written as EXR becomes float: the pixels are
    # scene-linear now and may exceed 0..1.
    is_exr = os.path.splitext(path)[1].lower() in (".exr", ".sxr", ".mxr")
    out = []
    for name in channels:
        fmt = template_formats[template_names.index(name)] if name in template_names else default
        if fmt not in PIXEL_FORMATS or (is_exr and fmt not in ("half", "float")):
            fmt = "float"
        out.append(fmt)
    return out


def _set_value(spec: Any, key: str, value: Any) -> None:
    if isinstance(value, (bool, np.bool_)):
        spec.attribute(key, int(value))
    elif isinstance(value, (int, np.integer)):
        spec.attribute(key, int(value))
    elif isinstance(value, (float, np.floating)):
        spec.attribute(key, float(value))
    elif isinstance(value, str):
        spec.attribute(key, value)
    else:
        raise OutputError(
            f"attribute {key!r} has value {value!r} of type {type(value).__name__}; "
            "expected str, int or float"
        )


def is_mipmapped(spec: Any) -> bool:
    """True when ``spec`` (as read) is one level of a tiled multi-level file."""
    return bool(spec.tile_width) and spec.get_int_attribute("oiio:miplevels", 1) > 1


def _build_spec(path: str, part: PartOut, pixels: np.ndarray, compression: str | None, multipart: bool) -> Any:
    height, width, nchannels = pixels.shape
    channels, template = tuple(part.channels), part.template
    types = _channel_types(path, channels, part.channel_formats, template)
    typedescs = [_type_of(t, path) for t in types]
    spec = oiio.ImageSpec(width, height, nchannels, typedescs[0])
    if len(set(types)) > 1:
        spec.channelformats = tuple(typedescs)
    spec.channelnames = channels
    spec.alpha_channel = channels.index("A") if "A" in channels else -1
    spec.z_channel = channels.index("Z") if "Z" in channels else -1

    if template is not None:
        if part.data_origin is None and (template.width, template.height) != (width, height):
            raise OutputError(
                f"{path}: pixels are {width}x{height} but the template's data window is "
                f"{template.width}x{template.height}"
            )
        spec.x, spec.y = part.data_origin or (template.x, template.y)
        spec.full_x, spec.full_y = template.full_x, template.full_y
        spec.full_width, spec.full_height = template.full_width, template.full_height
        spec.tile_width, spec.tile_height = template.tile_width, template.tile_height
        for attr in template.extra_attribs:
            if attr.name in _DROP_ATTRIBUTES or attr.name in part.remove:
                continue
            try:
                spec.attribute(attr.name, attr.type, attr.value)
            except Exception as err:  # an exotic type OIIO cannot round-trip, undecodable bytes
                log.debug("not copying attribute %r of %s: %s", attr.name, path, err)
        if is_mipmapped(template) and not multipart:
            spec.attribute("textureformat", _MIPMAP_FORMAT)  # what makes OIIO write MIP levels
        elif is_mipmapped(template):
            # OIIO cannot write MIP levels into a multi-part file: one level, said so.
            levels = template.get_int_attribute("oiio:miplevels", 1)
            spec.attribute("focuspull/mip_levels", f"1 of the input's {levels}: written as a single level")
    elif part.data_origin is not None:
        spec.x, spec.y = part.data_origin
    if compression is not None:
        # OIIO reads a DWA level back into its own attribute; a stale one from the
        # template must not override the level asked for here.
        spec.erase_attribute("openexr:dwaCompressionLevel")
        spec.attribute("compression", compression)
    elif template is None and os.path.splitext(path)[1].lower() == ".exr":
        spec.attribute("compression", "zip")
    for key, value in (part.attributes or {}).items():
        _set_value(spec, str(key), value)
    return spec


def _mip_sizes(width: int, height: int, round_up: bool) -> list[tuple[int, int]]:
    """Sizes of levels 1.. of an EXR MIP pyramid over a ``width`` x ``height`` image."""
    sizes = []
    level = 1
    while True:
        div = 1 << level
        w = max(1, -(-width // div) if round_up else width // div)
        h = max(1, -(-height // div) if round_up else height // div)
        sizes.append((w, h))
        if w == 1 and h == 1:
            return sizes
        level += 1


def _write_levels(path: str, out: Any, tmp: str, spec: Any, array: np.ndarray) -> None:
    """Levels 1.. of a mip-mapped part, each a box-filtered copy of level 0."""
    height, width, nchannels = array.shape
    source = oiio.ImageBuf(oiio.ImageSpec(width, height, nchannels, oiio.FLOAT))
    source.set_pixels(oiio.ROI(0, width, 0, height, 0, 1, 0, nchannels), array)
    round_up = spec.get_int_attribute("openexr:roundingmode", 0) == 1
    for w, h in _mip_sizes(width, height, round_up):
        level = oiio.ImageSpec(spec)
        level.width, level.height = w, h
        if not out.open(tmp, level, "AppendMIPLevel"):
            raise OutputError(f"cannot write {path}: MIP level {w}x{h}: {library_error(out)}")
        small = oiio.ImageBufAlgo.resize(source, filtername="box", roi=oiio.ROI(0, w, 0, h, 0, 1, 0, nchannels))
        if not out.write_image(np.ascontiguousarray(small.get_pixels(oiio.FLOAT))):
            raise OutputError(f"cannot write {path}: MIP level {w}x{h}: {library_error(out)}")


def _same_tiling(specs: Sequence[Any]) -> None:
    """OIIO cannot write a multi-part file whose parts mix tiles and scanlines
    (it fails, or crashes): every part takes the first part's layout, and a
    part that changed says so in its header."""
    first = (specs[0].tile_width, specs[0].tile_height)
    for spec in specs[1:]:
        if (spec.tile_width, spec.tile_height) != first:
            was = f"{spec.tile_width}x{spec.tile_height} tiles" if spec.tile_width else "scanlines"
            spec.tile_width, spec.tile_height = first
            spec.attribute("focuspull/tiles", f"input part had {was}; written as the first part is")


def _temp_path(path: str) -> str:
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    # A leading dot and no frame-number-shaped tail keep Read nodes and
    # SequencePattern.frames_on_disk from picking the temp file up.
    return os.path.join(folder, f".{stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{ext}")


def _fsync_path(path: str, directory: bool = False) -> None:
    # Windows can only flush a file opened for writing.
    flags = (os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if directory else os.O_RDWR
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:  # Windows cannot open folders; the rename is still atomic
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _checked_pixels(path: str, part: PartOut) -> np.ndarray:
    array = np.asarray(part.pixels)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    channels = tuple(part.channels)
    if array.ndim != 3 or array.shape[2] != len(channels) or 0 in array.shape:
        raise OutputError(
            f"cannot write {path}: pixels have shape {tuple(np.shape(part.pixels))}, expected "
            f"(height, width, {len(channels)}) for channels {', '.join(channels)}"
        )
    if len(set(channels)) != len(channels):
        raise OutputError(f"cannot write {path}: duplicate channel names in {channels}")
    return np.ascontiguousarray(array, dtype=np.float32)


def write_image(
    path: str,
    pixels: np.ndarray,
    channels: Sequence[str],
    *,
    template: Any | None = None,
    channel_formats: Sequence[str] | str | None = None,
    compression: str | None = None,
    attributes: Mapping[str, str | int | float] | None = None,
) -> None:
    """Write ``pixels`` (``(H, W, C)`` float, the data window) to ``path`` atomically.

    ``template`` (an ``ImageSpec``, normally the input frame's) gives the data and
    display windows, tiling, pixel aspect, all metadata and the compression.
    ``channel_formats`` is one of ``half``/``float``/... per channel (or one
    string for all); by default a channel keeps the template's format for the
    same name, else the template's format, else float. ``compression`` (e.g.
    ``"zip"``, ``"piz"``, ``"dwaa:45"``) overrides the template's. ``attributes``
    are added to the header (``{"focuspull/focus": "..."}``).

    The file is written to ``.<name>.tmp-<pid>-<rand><ext>`` in the same folder,
    fsynced and renamed over ``path``; on failure the temporary file is removed,
    an existing ``path`` is left untouched and :class:`OutputError` names the path.
    """
    write_parts(
        path,
        [PartOut(pixels, channels, template=template, channel_formats=channel_formats, attributes=attributes)],
        compression=compression,
    )


def write_parts(path: str, parts: Sequence[PartOut], *, compression: str | None = None) -> None:
    """Write one part per :class:`PartOut` to ``path`` atomically (see :func:`write_image`)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: folder {folder} is not writable")
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path}: it is a folder")
    if not parts:
        raise OutputError(f"cannot write {path}: no image to write")
    arrays = [_checked_pixels(path, part) for part in parts]
    specs = [_build_spec(path, part, array, compression, len(parts) > 1) for part, array in zip(parts, arrays)]
    _same_tiling(specs)

    tmp = _temp_path(path)
    out = oiio.ImageOutput.create(path)
    if out is None:
        raise OutputError(f"cannot write {path}: {library_error(default='no writer for this format')}")
    if len(parts) > 1 and not out.supports("multiimage"):
        raise OutputError(f"cannot write {path}: {len(parts)} parts, and this format holds one image")
    try:
        try:
            opened = out.open(tmp, specs[0]) if len(specs) == 1 else out.open(tmp, specs)
            if not opened:
                raise OutputError(f"cannot write {path}: {library_error(out)}")
            for i, (spec, array) in enumerate(zip(specs, arrays)):
                if i and not out.open(tmp, spec, "AppendSubimage"):
                    raise OutputError(f"cannot write {path}: part {i}: {library_error(out)}")
                if not out.write_image(array):
                    raise OutputError(f"cannot write {path}: {library_error(out, 'write failed')}")
                if spec.get_string_attribute("textureformat") == _MIPMAP_FORMAT:
                    _write_levels(path, out, tmp, spec, array)
            if not out.close():
                raise OutputError(f"cannot write {path}: {library_error(out, 'write failed')}")
        except FocusPullError:
            raise  # our own errors (a cancel landing mid-write included) keep their code
        except Exception as err:
            raise OutputError(f"cannot write {path}: {err}") from err
        _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        try:
            out.close()
        except Exception:
            pass
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError as cleanup_err:
            log.warning("could not remove temporary file %s: %s", tmp, cleanup_err)
        if isinstance(err, OSError):
            raise OutputError(f"cannot write {path}: {err}") from err
        raise
    _fsync_path(folder, directory=True)
