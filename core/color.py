"""Colour management with OpenColorIO: input space -> scene linear -> output space.

The config comes from, in order: an explicit path (``--ocio`` / the job's
``ocio_config``), the ``OCIO`` environment variable, then OCIO's built-in ACES
CG config (``ocio://default``, whose scene_linear role is ACEScg).

Conversions never clip and run on the CPU with processors cached per
(source, destination) pair. They use OCIO's lossless optimisation: the default
one swaps ``pow``/``log`` for fast approximations that are off by ~1e-5, which
would make an input -> working -> output round trip visibly inexact.
"""

from __future__ import annotations

import difflib
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from focuspull.errors import ColorError

__all__ = ["DEFAULT_CONFIG", "ColorConfig"]

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "ocio://default"


def _ocio() -> Any:
    import PyOpenColorIO as ocio

    return ocio


def _open_config(source: str, origin: str) -> Any:
    ocio = _ocio()
    if not source.startswith("ocio://") and not os.path.isfile(source):
        raise ColorError(f"cannot load OCIO {origin} {source}: file does not exist")
    try:
        config = ocio.Config.CreateFromFile(source)
        config.validate()
    except Exception as err:
        raise ColorError(f"cannot load OCIO {origin} {source}: {err}") from err
    log.debug("OCIO config %s (%s)", source, config.getName())
    return config


@dataclass(frozen=True)
class ColorConfig:
    """A loaded OCIO config. Build it with :meth:`load`."""

    source: str
    _config: Any = field(compare=False, repr=False, default=None)
    _cache: dict[tuple[str, ...], Any] = field(
        compare=False, repr=False, default_factory=dict, init=False
    )
    _lock: threading.Lock = field(
        compare=False, repr=False, default_factory=threading.Lock, init=False
    )

    def __post_init__(self) -> None:
        # ColorConfig("/path/config.ocio") works too; load() is the usual way in.
        if self._config is None:
            object.__setattr__(self, "_config", _open_config(self.source, "config"))

    @classmethod
    def load(cls, path: str | None = None) -> ColorConfig:
        """Load ``path``, else ``$OCIO``, else :data:`DEFAULT_CONFIG`.

        ``path`` may be a config file or an ``ocio://`` URI. Raises
        :class:`ColorError` naming the config when it cannot be loaded.
        """
        if path:
            source, origin = os.fspath(path), "config"
        elif os.environ.get("OCIO"):
            source, origin = os.environ["OCIO"], "config from $OCIO"
        else:
            source, origin = DEFAULT_CONFIG, "built-in config"
        return cls(source=source, _config=_open_config(source, origin))

    @property
    def config(self) -> Any:
        """The PyOpenColorIO config (read-only use)."""
        return self._config

    @property
    def scene_linear(self) -> str:
        """Name of the colour space of the ``scene_linear`` role: the working space."""
        ocio = _ocio()
        space = self._config.getColorSpace(ocio.ROLE_SCENE_LINEAR)
        if space is None:
            raise ColorError(f"OCIO config {self.source} has no scene_linear role")
        return str(space.getName())

    def colorspace_names(self) -> tuple[str, ...]:
        """Names of all colour spaces in the config (active and inactive)."""
        ocio = _ocio()
        return tuple(
            str(name)
            for name in self._config.getColorSpaceNames(
                ocio.SEARCH_REFERENCE_SPACE_ALL, ocio.COLORSPACE_ALL
            )
        )

    def _candidates(self) -> dict[str, tuple[str, str]]:
        """Lower-cased spelling (name, alias or role) -> (spelling, colour space name)."""
        ocio = _ocio()
        spellings: dict[str, tuple[str, str]] = {}
        spaces = self._config.getColorSpaces(ocio.SEARCH_REFERENCE_SPACE_ALL, ocio.COLORSPACE_ALL)
        for space in spaces:
            name = str(space.getName())
            for spelling in (name, *map(str, space.getAliases())):
                spellings.setdefault(spelling.lower(), (spelling, name))
        for role, space_name in self._config.getRoles():
            spellings.setdefault(str(role).lower(), (str(role), str(space_name)))
        return spellings

    def resolve(self, name: str | None) -> str:
        """The canonical colour space name for ``name`` (a name, an alias or a
        role, case-insensitive); ``None`` or ``""`` means the scene_linear space.

        An unknown name raises :class:`ColorError` listing the closest spellings.
        """
        if name is None or not str(name).strip():
            return self.scene_linear
        name = str(name).strip()
        space = self._config.getColorSpace(name)
        if space is not None:
            return str(space.getName())
        spellings = self._candidates()
        if name.lower() in spellings:
            return spellings[name.lower()][1]
        close = difflib.get_close_matches(name.lower(), list(spellings), n=20, cutoff=0.5)
        suggestions: list[str] = []
        seen: set[str] = set()
        for key in close:
            spelling, canonical = spellings[key]
            if canonical in seen:
                continue
            seen.add(canonical)
            suggestions.append(spelling if spelling == canonical else f"{spelling} ({canonical})")
        hint = (
            f"closest: {', '.join(suggestions[:5])}"
            if suggestions
            else f"known: {', '.join(self.colorspace_names()[:12])}"
        )
        raise ColorError(f"unknown colour space {name!r} in {self.source}; {hint}")

    def _cpu(self, key: tuple[str, ...], make: Any) -> Any:
        with self._lock:
            cpu = self._cache.get(key)
        if cpu is not None:
            return cpu
        ocio = _ocio()
        try:
            processor = make()
            cpu = processor.getOptimizedCPUProcessor(
                ocio.BIT_DEPTH_F32, ocio.BIT_DEPTH_F32, ocio.OptimizationFlags.OPTIMIZATION_LOSSLESS
            )
        except Exception as err:
            raise ColorError(
                f"cannot build OCIO transform {' -> '.join(key[1:])} in {self.source}: {err}"
            ) from err
        with self._lock:
            self._cache.setdefault(key, cpu)
        return cpu

    @staticmethod
    def _apply(cpu: Any, pixels: np.ndarray) -> np.ndarray:
        array = np.asarray(pixels)
        if array.ndim < 1 or array.shape[-1] not in (3, 4):
            raise ColorError(
                f"colour conversion needs RGB or RGBA pixels (..., 3|4), got shape {array.shape}"
            )
        out = np.array(array, dtype=np.float32, order="C", copy=True)
        if out.shape[-1] == 3:
            cpu.applyRGB(out)
        else:
            cpu.applyRGBA(out)
            # Some transforms (e.g. display ones) touch alpha; it is not colour.
            out[..., 3] = array[..., 3]
        return out

    def convert(self, pixels: np.ndarray, src: str | None, dst: str | None) -> np.ndarray:
        """Convert ``(..., 3)`` or ``(..., 4)`` pixels from ``src`` to ``dst``.

        Returns a new float32 array (alpha copied unchanged), or ``pixels``
        itself when the conversion is an identity. Never clips.
        """
        src_name, dst_name = self.resolve(src), self.resolve(dst)
        if src_name == dst_name:
            return pixels
        cpu = self._cpu(
            ("cs", src_name, dst_name), lambda: self._config.getProcessor(src_name, dst_name)
        )
        if cpu.isNoOp():
            return pixels
        return self._apply(cpu, pixels)

    def to_working(self, pixels: np.ndarray, colorspace: str | None) -> np.ndarray:
        """``colorspace`` -> scene linear."""
        return self.convert(pixels, colorspace, None)

    def from_working(self, pixels: np.ndarray, colorspace: str | None) -> np.ndarray:
        """Scene linear -> ``colorspace``."""
        return self.convert(pixels, None, colorspace)

    def displays(self) -> tuple[str, ...]:
        return tuple(str(d) for d in self._config.getDisplays())

    def views(self, display: str | None = None) -> tuple[str, ...]:
        display = display or str(self._config.getDefaultDisplay())
        return tuple(str(v) for v in self._config.getViews(display))

    def display_view(
        self, pixels: np.ndarray, display: str | None = None, view: str | None = None
    ) -> np.ndarray:
        """Scene linear -> a display/view (default: the config's default ones).

        For contact sheets and the viewer; returns float, the caller quantises.
        """
        ocio = _ocio()
        display = display or str(self._config.getDefaultDisplay())
        if display not in self.displays():
            raise ColorError(
                f"unknown display {display!r} in {self.source}; "
                f"displays: {', '.join(self.displays())}"
            )
        view = view or str(self._config.getDefaultView(display))
        if view not in self.views(display):
            raise ColorError(
                f"unknown view {view!r} for display {display!r} in {self.source}; "
                f"views: {', '.join(self.views(display))}"
            )
        working = self.scene_linear

        def make() -> Any:
            transform = ocio.DisplayViewTransform(src=working, display=display, view=view)
            return self._config.getProcessor(transform)

        cpu = self._cpu(("display", working, display, view), make)
        return self._apply(cpu, pixels)
