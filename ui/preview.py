"""The progressive preview: a coarse picture at once, then the engine's, refined.

After any change (focus, strength, a key, the frame, the aperture) two
background tasks start, each cancelling the one before it:

1. **coarse** — at 1/8 resolution with a fast numpy approximation of the
   lens (:func:`coarse_defocus`: the plate blurred to a few radii and blended
   per pixel by its CoC). It takes milliseconds, so a picture follows the
   artist's hand; it is not occlusion-correct and is labelled as such.
2. **engine** — the job's engine at 1/4, then at the chosen resolution
   (1/4, 1/2 or full), each shown as it arrives.

The two run on separate threads so the coarse picture of a new change never
waits behind an engine render (one engine call cannot be interrupted; a
cancelled one finishes and is dropped). At reduced resolution the plate is
box-filtered and K divided by the factor: K is in pixels of the plate it blurs.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from focuspull.coc import signed_coc_px
from focuspull.ui._qt import QtCore
from focuspull.ui.coarse import coarse_defocus, downsample
from focuspull.ui.tasks import NICE_HEAVY, CancelToken, Report, TaskRunner

if TYPE_CHECKING:
    import numpy as np

    from focuspull.engines.base import Engine
    from focuspull.pipeline import FrameData, Shot

log = logging.getLogger(__name__)

PREVIEW_SCALES = (1, 2, 4)
COARSE_SCALE = 8
#: the engine's first, quick pass; then the chosen resolution
FIRST_ENGINE_SCALE = 4


@dataclass(frozen=True)
class PreviewResult:
    revision: int
    frame: int
    scale: int
    method: str  # "fast" (coarse approximation) or "engine"
    rgba: "np.ndarray"  # (h, w, C) scene-linear, at 1/scale of the plate
    seconds: float
    thread_id: int  # threading.get_ident() of the thread that made it

    @property
    def label(self) -> str:
        res = "full res" if self.scale == 1 else f"1/{self.scale} res"
        return f"{res} {'coarse' if self.method == 'fast' else 'engine'}"

    def rank(self) -> tuple[int, int, int]:
        """Newer, then finer, then the engine's over the fast path's."""
        return self.revision, -self.scale, int(self.method == "engine")


def render_preview(engine: "Engine", shot: "Shot", data: "FrameData", scale: int = 1) -> "np.ndarray":
    """One frame through the engine at 1/scale resolution; (h, w, C) scene-linear."""
    import torch

    from focuspull.pipeline import engine_input

    small = downsample(data, scale)
    with torch.inference_mode():
        batch = engine_input(shot, [small], engine.device)
        if scale != 1:
            batch = dataclasses.replace(batch, params=batch.params.replace(strength_px=batch.params.strength_px / scale))
        out = engine.render(batch)
        return out.rgba[0].permute(1, 2, 0).float().cpu().numpy()


@dataclass(frozen=True)
class PreviewRequest:
    revision: int
    shot: "Shot"
    data: "FrameData"
    scale: int  # the chosen resolution, 1/scale
    coc_law: Mapping[str, float]  # arguments of the CoC law at this frame (K in plate pixels)


class Proxies:
    """The 1/8 plates of recent frames: made when a frame is read (on the loader's thread), so the coarse
    pass of a frame change does not start by reducing a full plate."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[int, tuple[FrameData, FrameData]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, data: "FrameData") -> "FrameData":
        with self._lock:
            item = self._items.get(data.frame)
        if item is None or item[0] is not data:
            item = (data, downsample(data, COARSE_SCALE))
        with self._lock:
            self._items[data.frame] = item
            self._items.move_to_end(data.frame)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return item[1]


def coarse_task(proxies: Proxies, request: PreviewRequest, cancel: CancelToken, report: Report) -> PreviewResult:
    started = time.monotonic()
    small = proxies.get(request.data)
    cancel.check()
    law = {**request.coc_law, "strength_px": request.coc_law["strength_px"] / COARSE_SCALE}
    radius = signed_coc_px(small.disparity, **law)
    rgba = coarse_defocus(small.rgba, radius)
    return PreviewResult(request.revision, request.data.frame, COARSE_SCALE, "fast", rgba,
                         time.monotonic() - started, threading.get_ident())


def engine_scales(scale: int) -> tuple[int, ...]:
    """The engine's passes for a chosen resolution: a quick 1/4 first, then the chosen one."""
    return (FIRST_ENGINE_SCALE,) if scale >= FIRST_ENGINE_SCALE else (FIRST_ENGINE_SCALE, scale)


class _Engines:
    """Keeps one engine (on the engine thread) while its settings do not change."""

    def __init__(self, factory: Callable[["Shot"], "Engine"] | None) -> None:
        self._factory = factory
        self._engine: Engine | None = None
        self._key: str | None = None

    def get(self, shot: "Shot") -> "Engine":
        job = shot.job
        key = repr((job.engine.name, job.engine.device, job.aperture, shot.engine_options, shot.color.source))
        if self._engine is None or key != self._key:
            if self._factory is not None:
                self._engine = self._factory(shot)
            else:
                from focuspull.pipeline import make_engine

                self._engine = make_engine(shot)
            self._key = key
        return self._engine


def engine_task(engines: _Engines, request: PreviewRequest, cancel: CancelToken, report: Report) -> None:
    engine = engines.get(request.shot)
    for scale in engine_scales(request.scale):
        cancel.check()
        started = time.monotonic()
        rgba = render_preview(engine, request.shot, request.data, scale)
        report(PreviewResult(request.revision, request.data.frame, scale, "engine", rgba,
                             time.monotonic() - started, threading.get_ident()))


class PreviewPipeline(QtCore.QObject):
    """Starts both passes for each request; ``ready`` delivers every result of the newest request."""

    ready = QtCore.Signal(object)  # PreviewResult
    failed = QtCore.Signal(str)

    def __init__(
        self, engine_factory: Callable[["Shot"], "Engine"] | None = None, parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.coarse = TaskRunner("focuspull-preview-coarse", self)
        self.engine = TaskRunner("focuspull-preview-engine", self, nice=NICE_HEAVY)
        self.proxies = Proxies()
        self._engines = _Engines(engine_factory)
        self.coarse.finished.connect(lambda task, result: self.ready.emit(result))
        self.engine.reported.connect(lambda task, result: self.ready.emit(result))
        for runner in (self.coarse, self.engine):
            runner.failed.connect(lambda task, message: self.failed.emit(message))

    @property
    def busy(self) -> bool:
        return self.coarse.busy or self.engine.busy

    def request(self, request: PreviewRequest) -> None:
        if request.scale not in PREVIEW_SCALES:
            raise ValueError(f"preview scale {request.scale}; expected one of {PREVIEW_SCALES}")
        self.coarse.submit(functools.partial(coarse_task, self.proxies, request))
        self.engine.submit(functools.partial(engine_task, self._engines, request))

    def cancel(self) -> None:
        self.coarse.cancel()
        self.engine.cancel()

    def shutdown(self) -> None:
        self.coarse.shutdown()
        self.engine.shutdown()
