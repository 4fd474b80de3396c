"""How much memory a frame needs, checked before anything is allocated.

The estimate is made from the headers alone (data windows, channels, parts)
and the engine's working set per pixel, measured on the physical engine
(``bench/memory.py`` prints the table; about 220 bytes per pixel of the work
window on the CPU, whatever the CoC). A frame that would not fit is refused
with a message naming what it needs and what there is; the render is never
started and then killed by the system.

Tiling the frame is not offered: the physical engine chooses its planes from
the frame's largest CoC and fills hidden background from the whole frame, so
tiles would not give the untiled pixels.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from focuspull.errors import EngineError

__all__ = ["FrameMemory", "available_bytes", "check_frame_memory", "check_shot_memory", "check_stabilize_memory",
           "estimate_frame_bytes"]

log = logging.getLogger(__name__)

#: engine working set per pixel of the work window and refocused layer (bytes),
#: measured on the CPU (bench/memory.py): 2048x1080 838 MB, 4096x2160 2269 MB,
#: 8192x4320 7.6 GB peak RSS. Other engines (the neural one works at a fixed
#: model size and holds its weights) are not estimated: only their reads count.
ENGINE_BYTES_PER_PIXEL = {"physical": 220}
#: everything the process holds before the first frame (interpreter, torch)
BASELINE_BYTES = 400 * 2**20
#: never plan to use more than this share of what is available
HEADROOM = 0.9
#: the temporal depth step holds the shot's disparity twice (float32: the input and the result) and its
#: grey plate (uint8), per pixel of every frame (depth_conditioning.temporal)
STABILIZE_BYTES_PER_PIXEL = 9


@dataclass(frozen=True)
class FrameMemory:
    read_bytes: int  # every part of a frame as float32
    engine_bytes: int  # the engine's working set for every refocused layer
    frames_held: int  # frames read ahead plus the one rendered

    @property
    def total_bytes(self) -> int:
        return self.read_bytes * (self.frames_held + 1) + self.engine_bytes + BASELINE_BYTES


def estimate_frame_bytes(
    header: Mapping[str, Any], work_pixels: int, layers: int, engine: str, frames_held: int
) -> FrameMemory:
    """The memory one frame needs: its parts read as float32 (``frames_held``
    of them in flight), plus the engine's working set for ``layers`` refocused
    layers over ``work_pixels`` (the data window grown by the blur)."""
    read = 0
    for part in header["parts"]:
        x0, y0, x1, y1 = part["data_window"]
        read += (x1 - x0 + 1) * (y1 - y0 + 1) * len(part["channels"]) * 4
    per_pixel = ENGINE_BYTES_PER_PIXEL.get(engine, 0)
    # layers are rendered one after another: the engine's working set is one
    # layer's, plus the rendered RGBA of the others kept until the write
    engine_bytes = work_pixels * (per_pixel + 16 * max(0, layers - 1))
    return FrameMemory(read, engine_bytes, frames_held)


def available_bytes() -> int | None:
    """Memory this process may still use: MemAvailable (Linux), else physical
    memory (POSIX); None when unknown. A cgroup limit, when lower, wins."""
    found: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except OSError:
        try:
            found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            pass
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit_file, encoding="ascii") as f:
                text = f.read().strip()
            if text.isdigit() and int(text) < 2**60:
                found.append(int(text))
        except OSError:
            continue
    return min(found) if found else None


def _gb(value: int) -> str:
    return f"{value / 2**30:.1f} GB"


def check_frame_memory(
    where: str, size: Sequence[int], memory: FrameMemory, available: int | None
) -> None:
    """Raise :class:`EngineError` before any allocation when the frame cannot fit."""
    if available is None:
        return
    need = memory.total_bytes
    log.debug("%s: needs about %s, %s available", where, _gb(need), _gb(available))
    if need > available * HEADROOM:
        raise EngineError(
            f"{where}: a {size[0]}x{size[1]} frame needs about {_gb(need)} of memory "
            f"({_gb(memory.read_bytes)} per frame read, x{memory.frames_held + 1} in flight; "
            f"{_gb(memory.engine_bytes)} for the engine) but {_gb(available)} is available; "
            "render on a machine with more memory, or crop the plate"
        )


def check_stabilize_memory(where: str, frame_pixels: Sequence[int], available: int | None) -> None:
    """Raise :class:`EngineError` before the shot is read when its temporal depth step cannot fit
    (``frame_pixels``: each frame's pixel count; frames are read as RGBA float32, a few in flight)."""
    if available is None or not frame_pixels:
        return
    need = STABILIZE_BYTES_PER_PIXEL * sum(frame_pixels) + 4 * 16 * max(frame_pixels) + BASELINE_BYTES
    log.debug("%s: stabilising needs about %s, %s available", where, _gb(need), _gb(available))
    if need > available * HEADROOM:
        raise EngineError(
            f"{where}: stabilising the depth of {len(frame_pixels)} frame(s) over time needs about {_gb(need)} of "
            f"memory (the shot's disparity twice and its grey plate) but {_gb(available)} is available; "
            "render without depth stabilisation, stabilise a shorter range of frames, or use a machine with "
            "more memory"
        )


#: frames larger than this (all parts, float32) are not read ahead
_PREFETCH_LIMIT_BYTES = 512 * 2**20


def check_shot_memory(shot: Any, frames: Sequence[int], engine: Any) -> int:
    """Refuse, before anything is allocated, a frame that would not fit in memory
    (headers only); returns how many frames to read ahead."""
    from focuspull.io.header import read_header

    available = available_bytes()
    gpu_free = _gpu_free_bytes(engine)
    overscan = shot.job.output.overscan_px
    prefetch = 2
    for frame in frames:
        path = shot.input.path(frame)
        header = read_header(path, frame)
        x0, y0, x1, y1 = header["data_window"]
        dx0, dy0, dx1, dy1 = header["display_window"]
        if not engine.context_frames:  # the work window lies within the data and display (+overscan) windows
            x0, y0 = min(x0, dx0 - overscan), min(y0, dy0 - overscan)
            x1, y1 = max(x1, dx1 + overscan), max(y1, dy1 + overscan)
        work = (x1 - x0 + 1) * (y1 - y0 + 1)
        memory = estimate_frame_bytes(header, work, len(shot.plan), shot.job.engine.name, prefetch)
        if memory.read_bytes > _PREFETCH_LIMIT_BYTES:
            prefetch = 0
            memory = estimate_frame_bytes(header, work, len(shot.plan), shot.job.engine.name, prefetch)
        where = f"{path}: frame {frame}"
        if gpu_free is None:
            check_frame_memory(where, (x1 - x0 + 1, y1 - y0 + 1), memory, available)
        else:
            on_host = dataclasses.replace(memory, engine_bytes=0)
            check_frame_memory(where, (x1 - x0 + 1, y1 - y0 + 1), on_host, available)
            check_frame_memory(f"{where} (on {engine.device})", (x1 - x0 + 1, y1 - y0 + 1),
                               dataclasses.replace(memory, read_bytes=0, frames_held=0), gpu_free)
    return prefetch


def _gpu_free_bytes(engine: Any) -> int | None:
    device = getattr(engine, "device", None)
    if device is None or getattr(device, "type", "cpu") != "cuda":
        return None
    import torch

    return int(torch.cuda.mem_get_info(device)[0])
