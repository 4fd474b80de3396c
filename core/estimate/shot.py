"""Estimate a shot's depth once, stably, and write it next to the output.

The plate is seen as the compositor's viewer shows it (the OCIO config's
default display and view), the model runs on every frame of the shot, the
predictions are stabilised along optical flow and normalised with one
mapping for the whole shot, then resampled to the plate's data window and
written as single-channel float EXRs (channel ``Y``,
``normalized_disparity``: 0 = farthest, 1 = nearest) with the plate's
windows. A compositor can check them in a viewer and reuse them as
``--depth PATTERN --depth-kind normalized_disparity``.

A render of the same shot with the same model and settings finds the
sequence by its signature (header ``focuspull/depth_signature``) and reuses
it, so farm chunks after the first do not estimate again.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from focuspull import __version__
from focuspull.errors import ImageDataError

if TYPE_CHECKING:
    import numpy as np

    from focuspull.color import ColorConfig
    from focuspull.io import SequencePattern

log = logging.getLogger(__name__)

#: frames per model call
BATCH = 4
#: the channel of the written depth
CHANNEL = "Y"
KIND = "normalized_disparity"


def default_depth_pattern(output: str, suffix: str = "depth") -> str:
    """``out/refocus.####.exr`` -> ``out/refocus_depth.####.exr`` (always EXR; ``suffix`` after the ``_``)."""
    folder, name = os.path.split(output)
    match = re.search(r"(#+|%0?\d*d|\$F\d*|@+)", name)
    if match is None:
        stem = os.path.splitext(name)[0]
        return os.path.join(folder, f"{stem}_{suffix}.exr")
    stem = name[: match.start()].rstrip("._-")
    return os.path.join(folder, f"{stem + '_' if stem else ''}{suffix}.{match.group(0)}.exr")


def estimate_shot_depth(
    *,
    plate: "SequencePattern",
    frames: Sequence[int],
    color: "ColorConfig",
    input_colorspace: str,
    target: "SequencePattern",
    model: str | None = None,
    stabilize_weight: float = 0.5,
    percentiles: tuple[float, float] = (1.0, 99.0),
    device: str = "auto",
    on_frame: "Callable[[int, int], None] | None" = None,
) -> "SequencePattern":
    """Estimate, stabilise, normalise and write the depth of ``frames``; returns ``target``.

    ``on_frame(done, total)`` is called as frames are estimated (the slow part).
    """
    import numpy as np

    from focuspull.estimate.model import DepthEstimator, model_signature, resolve_model_folder
    from focuspull.estimate.normalize import ShotNormalization
    from focuspull.depth_conditioning.temporal import stabilize
    from focuspull.io import read_sequence

    frames = tuple(frames)
    folder = resolve_model_folder(model)
    signature = _signature(plate, frames, input_colorspace, model_signature(folder), stabilize_weight, percentiles)
    if reusable(target, frames, signature):
        log.info("depth: reusing %s (same plate, model and settings)", target.text)
        return target

    from focuspull.device import resolve_device

    estimator = DepthEstimator(folder, resolve_device(device))
    log.info("depth: estimating %d frame(s) of %s with %s", len(frames), plate.text, folder)
    raw: list[np.ndarray] = []
    gray: list[np.ndarray] = []
    specs: dict[int, Any] = {}
    batch: list[np.ndarray] = []
    for frame, image in read_sequence(plate, frames, prefetch=2):
        specs[frame] = image.spec
        batch.append(_model_input(image, frame, color, input_colorspace))
        if len(batch) == BATCH:
            _run(estimator, batch, raw, gray)
            batch = []
            if on_frame is not None:
                on_frame(len(raw), len(frames))
    if batch:
        _run(estimator, batch, raw, gray)
        if on_frame is not None:
            on_frame(len(raw), len(frames))

    steady = stabilize(raw, gray, weight=stabilize_weight)
    mapping = ShotNormalization.fit(steady, percentiles)
    log.info("depth: shot disparity %g..%g -> 0..1 (percentiles %g/%g)", mapping.low, mapping.high, *percentiles)
    attributes = {
        "focuspull/version": __version__,
        "focuspull/depth_kind": KIND,
        "focuspull/depth_model": str(folder),
        "focuspull/depth_signature": signature,
        "focuspull/depth_low": mapping.low,
        "focuspull/depth_high": mapping.high,
        "focuspull/depth_stabilize": float(stabilize_weight),
    }
    for frame, disparity in zip(frames, steady):
        spec = specs[frame]
        full = _resize(mapping.apply(disparity), (spec.width, spec.height))
        write_depth(target.path(frame), full, spec, {**attributes, "focuspull/input": plate.path(frame)})
    return target


def _model_input(image: Any, frame: int, color: "ColorConfig", input_colorspace: str) -> "np.ndarray":
    """The frame as 8-bit display-referred RGB, as the compositor's viewer shows it."""
    import numpy as np

    rgb = image.pixels[..., list(image.rgba_indices[:3])].astype(np.float32)
    bad = ~np.isfinite(rgb)
    if bad.any():
        raise ImageDataError(
            f"{image.path}: frame {frame}: {int(bad.any(axis=-1).sum())} pixel(s) are NaN or inf in RGB"
        )
    linear = color.to_working(rgb, input_colorspace)
    shown = color.display_view(linear)[..., :3]
    return np.round(np.clip(shown, 0.0, 1.0) * 255.0).astype(np.uint8)


def _run(estimator: Any, batch: list["np.ndarray"], raw: list["np.ndarray"], gray: list["np.ndarray"]) -> None:
    from focuspull.flow import require_cv2

    cv2 = require_cv2()
    predictions = estimator.predict(batch)
    for image, prediction in zip(batch, predictions):
        height, width = prediction.shape
        small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        gray.append(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        raw.append(prediction)


def _resize(values: "np.ndarray", size: tuple[int, int]) -> "np.ndarray":
    from focuspull.flow import require_cv2

    cv2 = require_cv2()
    if values.shape[::-1] == tuple(size):
        return values
    return cv2.resize(values, tuple(size), interpolation=cv2.INTER_LINEAR)


def write_depth(path: str, disparity: "np.ndarray", plate_spec: Any, attributes: dict[str, Any]) -> None:
    """One channel, float, the plate's data and display windows, none of its metadata."""
    import OpenImageIO as oiio

    from focuspull.io import write_image

    template = oiio.ImageSpec(plate_spec.width, plate_spec.height, 1, oiio.FLOAT)
    template.x, template.y = plate_spec.x, plate_spec.y
    template.full_x, template.full_y = plate_spec.full_x, plate_spec.full_y
    template.full_width, template.full_height = plate_spec.full_width, plate_spec.full_height
    aspect = plate_spec.get_float_attribute("PixelAspectRatio", 1.0)
    if aspect != 1.0:
        template.attribute("PixelAspectRatio", float(aspect))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_image(path, disparity[..., None], (CHANNEL,), template=template, channel_formats="float",
                compression="zip", attributes=attributes)


def _signature(plate: "SequencePattern", frames: Sequence[int], colorspace: str, model: str,
               weight: float, percentiles: tuple[float, float]) -> str:
    from focuspull.io.written import source_signature

    return source_signature({
        "v": 2, "plate": plate.canonical(), "colorspace": colorspace, "model": model,
        "stabilize": weight, "percentiles": list(percentiles), "frames": list(frames),
    }, [plate], frames)


def reusable(target: "SequencePattern", frames: Sequence[int], signature: str) -> bool:
    from focuspull.io import written_by

    return all(written_by(target.path(frame), "focuspull/depth_signature", signature) for frame in frames)
