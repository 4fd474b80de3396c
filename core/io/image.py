"""Reading and writing single images with OpenImageIO.

Pixels are float32 ``(H, W, C)`` arrays of the data window, whatever the file
stores (half, float, 8/16-bit integers normalised to 0..1). Writing keeps the
windows, pixel aspect and metadata of a template ``ImageSpec`` (normally the
input frame's), and is atomic: a temporary file in the same folder is renamed
into place, so a Read node never sees a half-written frame.
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

from focuspull.errors import FocusPullError, ImageDataError, ImageReadError, OutputError

__all__ = ["ImageFrame", "read_image", "write_image", "PIXEL_FORMATS"]

log = logging.getLogger(__name__)

PIXEL_FORMATS = ("half", "float", "uint8", "uint16", "uint32")

# Header attributes that describe the file that was read, not the one being
# written: OIIO or the EXR library recomputes them, and copying them over would
# lie about the new file (or make OIIO refuse to write it).
_DROP_ATTRIBUTES = frozenset(
    {
        "oiio:subimages",
        "oiio:BitsPerSample",
        "oiio:RowsPerChunk",
        "oiio:UnassociatedAlpha",
        "oiio:Gamma",
        "openexr:chunkCount",
        "openexr:version",
        "openexr:roundingmode",
        "chunkCount",
        "version",
        "name",
        "type",
        "tiles",
        "dataWindow",
        "displayWindow",
        "channels",
    }
)

_RGBA_NAMES = ("R", "G", "B", "A")


@dataclass(frozen=True, eq=False)
class ImageFrame:
    """One image: the data-window pixels plus the file's spec (windows, metadata)."""

    pixels: np.ndarray
    channels: tuple[str, ...]
    spec: Any
    path: str

    def index(self, name: str) -> int:
        """Index of channel ``name``; :class:`ImageDataError` naming the file and its
        channels when absent."""
        try:
            return self.channels.index(name)
        except ValueError:
            raise ImageDataError(
                f"{self.path}: no channel {name!r}; channels are {', '.join(self.channels)}"
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
                f"{self.path}: no R, G, B channels{hint}; channels are {', '.join(self.channels)}"
            )
        return tuple(found)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the data window."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])

    @property
    def has_alpha(self) -> bool:
        return "A" in self.channels


def read_image(path: str) -> ImageFrame:
    """Read the first subimage of ``path`` as float32 ``(H, W, C)``.

    Raises :class:`ImageReadError` naming the file for a missing, unreadable,
    corrupt or truncated file, and for deep (multi-sample) images.
    """
    path = os.fspath(path)
    inp = oiio.ImageInput.open(path)
    if inp is None:
        detail = oiio.geterror() or "unknown error"
        if not os.path.exists(path):
            detail = "no such file"
        raise ImageReadError(f"cannot read {path}: {detail}")
    try:
        spec = inp.spec()
        if spec.deep:
            raise ImageReadError(f"cannot read {path}: deep images are not supported")
        pixels = inp.read_image(format=oiio.FLOAT)
        if pixels is None or inp.has_error:
            detail = inp.geterror() or oiio.geterror() or "read failed"
            raise ImageReadError(f"cannot read {path}: {detail}")
        # Copy the spec: the one owned by the ImageInput dies with it.
        spec = oiio.ImageSpec(spec)
    finally:
        inp.close()
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    elif pixels.ndim == 4:  # volume images come back (depth, H, W, C); keep the first slice
        pixels = pixels[0]
    channels = tuple(spec.channelnames)
    return ImageFrame(pixels=pixels, channels=channels, spec=spec, path=path)


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


def _build_spec(
    path: str,
    pixels: np.ndarray,
    channels: Sequence[str],
    template: Any | None,
    channel_formats: Sequence[str] | str | None,
    compression: str | None,
    attributes: Mapping[str, str | int | float] | None,
) -> Any:
    height, width, nchannels = pixels.shape
    types = _channel_types(path, channels, channel_formats, template)
    typedescs = [_type_of(t, path) for t in types]
    spec = oiio.ImageSpec(width, height, nchannels, typedescs[0])
    if len(set(types)) > 1:
        spec.channelformats = tuple(typedescs)
    spec.channelnames = tuple(channels)
    alpha = list(channels).index("A") if "A" in channels else -1
    spec.alpha_channel = alpha
    spec.z_channel = list(channels).index("Z") if "Z" in channels else -1

    if template is not None:
        if (template.width, template.height) != (width, height):
            raise OutputError(
                f"{path}: pixels are {width}x{height} but the template's data window is "
                f"{template.width}x{template.height}"
            )
        spec.x, spec.y = template.x, template.y
        spec.full_x, spec.full_y = template.full_x, template.full_y
        spec.full_width, spec.full_height = template.full_width, template.full_height
        spec.tile_width, spec.tile_height = template.tile_width, template.tile_height
        for attr in template.extra_attribs:
            if attr.name in _DROP_ATTRIBUTES:
                continue
            try:
                spec.attribute(attr.name, attr.type, attr.value)
            except Exception as err:  # an exotic type OIIO cannot round-trip
                log.debug("not copying attribute %s of %s: %s", attr.name, path, err)
    if compression is not None:
        # OIIO reads a DWA level back into its own attribute; a stale one from the
        # template must not override the level asked for here.
        spec.erase_attribute("openexr:dwaCompressionLevel")
        spec.attribute("compression", compression)
    elif template is None and os.path.splitext(path)[1].lower() == ".exr":
        spec.attribute("compression", "zip")
    for key, value in (attributes or {}).items():
        _set_value(spec, str(key), value)
    return spec


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
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: folder {folder} is not writable")
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path}: it is a folder")

    array = np.asarray(pixels)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    channels = tuple(channels)
    if array.ndim != 3 or array.shape[2] != len(channels) or 0 in array.shape:
        raise OutputError(
            f"cannot write {path}: pixels have shape {tuple(np.shape(pixels))}, expected "
            f"(height, width, {len(channels)}) for channels {', '.join(channels)}"
        )
    if len(set(channels)) != len(channels):
        raise OutputError(f"cannot write {path}: duplicate channel names in {channels}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    spec = _build_spec(path, array, channels, template, channel_formats, compression, attributes)

    tmp = _temp_path(path)
    out = oiio.ImageOutput.create(path)
    if out is None:
        raise OutputError(f"cannot write {path}: {oiio.geterror() or 'no writer for this format'}")
    try:
        try:
            if not out.open(tmp, spec):
                raise OutputError(f"cannot write {path}: {out.geterror() or oiio.geterror()}")
            ok = out.write_image(array)
            error = out.geterror() if not ok else ""
            closed = out.close()
            if not ok or not closed:
                raise OutputError(
                    f"cannot write {path}: {error or out.geterror() or 'write failed'}"
                )
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
