"""The job: everything a render needs, as a versioned JSON document.

``focuspull.job/1`` is what host nodes write, the UI saves and the CLI reads
(``render --job``). It is validated here, once, with messages that name the
bad field and value; ``schema()`` exports the JSON Schema from the same
dataclasses so host code can check jobs without importing the core.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from focuspull.aperture import ApertureSpec
from focuspull.curves import Curve
from focuspull.depth import DEPTH_KIND_ALIASES, DEPTH_KIND_NAMES, DEPTH_KINDS, METRIC_KINDS  # noqa: F401  (re-exported)
from focuspull.depth_conditioning.steps import EDGE_RADIUS_PX, STABILIZE_WEIGHT
from focuspull.errors import JobError
from focuspull.settings import CURVE_SCHEMA, from_mapping, json_schema, to_mapping

SCHEMA_ID = "focuspull.job/1"
EXR_COMPRESSIONS = ("none", "rle", "zips", "zip", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab", "htj2k")


@dataclass(frozen=True)
class InputSpec:
    """The plate: a frame pattern and the frames to render."""

    pattern: str = field(metadata={"doc": "Frame pattern: plate.####.exr, plate.%04d.exr, plate.$F4.exr or plate.@@@@.exr."})
    frames: str | None = field(
        default=None, metadata={"doc": "Frame list: 1001-1100, 1001-1100x2, 1001,1005,1010-1012. Default: every frame on disk."}
    )
    colorspace: str | None = field(
        default=None,
        metadata={"doc": "OCIO colour space of the plate. Default: the one the header names (colorInteropID or an "
                  "OCIO colour-space name), else the config's scene_linear role."},
    )
    layer: str | None = field(
        default=None,
        metadata={"doc": "Image layer that is the plate's colour: rgba, diffuse, PART.diffuse or a part name. "
                  "Default: the first R, G, B(, A) layer of the default view."},
    )
    views: str | None = field(
        default=None,
        metadata={"doc": "Views of a stereo/multi-view EXR to refocus: all (default) or a comma list (left,right); "
                  "the others pass through unchanged."},
    )


@dataclass(frozen=True)
class DepthSpec:
    """Where depth comes from and what its values mean."""

    source: Literal["channel", "sequence", "estimate"] = field(
        default="channel",
        metadata={"doc": "channel: a channel of the plate; sequence: a separate frame sequence; "
                  "estimate: monocular depth (Depth Anything V2) estimated from the plate."},
    )
    channel: str | None = field(
        default=None,
        metadata={"doc": "Channel name (e.g. Z, depth.Z). Default: Z or depth.Z in the plate; the first channel of a sequence."},
    )
    pattern: str | None = field(
        default=None,
        metadata={"doc": "source 'sequence': the depth frame pattern. source 'estimate': where the estimated depth is "
                  "written (default: next to the output, <output name>_depth.####.exr)."},
    )
    kind: Literal[DEPTH_KIND_NAMES] | None = field(  # type: ignore[valid-type]
        default=None,
        metadata={"doc": "depth: camera distance z (d = 1/z; 0, inf and NaN are infinitely far). "
                  "inverse_depth: 1/z as Nuke's ScanlineRender writes it (ZDefocus 'far = 0'; alias far_zero; 0 and NaN "
                  "are infinitely far). disparity: larger = nearer, any scale, used as is. normalized_disparity: "
                  "disparity in 0..1 (0 = farthest, 1 = nearest), e.g. an 8-bit map from an estimator. "
                  "Default: depth; normalized_disparity for source 'estimate'."},
    )
    model: str | None = field(
        default=None,
        metadata={"doc": "source 'estimate': a Depth Anything V2 folder (transformers format) or a model name from "
                  "'focuspull models' (default depth-anything-v2-small). Never downloaded at render time."},
    )
    stabilize: Literal["auto", "on", "off"] | float | None = field(
        default="auto",
        metadata={"doc": "Temporal stabilisation along optical flow, for any source: the shot's per-frame scale "
                  "wobble is removed (keeping its mean scale) and each pixel is averaged with its "
                  "motion-compensated neighbours (stabilize_weight). Reads the whole shot and needs OpenCV (the "
                  "depth extra); the conditioned depth is written next to the output (<output>_depth_stable). "
                  "auto: on for estimated depth (also run on the model's output), off for supplied depth. A number "
                  "(jobs before the switch) is the weight, 0 = off."},
    )
    stabilize_weight: float = field(
        default=STABILIZE_WEIGHT,
        metadata={"doc": "Temporal stabilisation: the weight of the neighbouring frames (0.5: a pixel's noise "
                  "variance falls to a fifth; more: steadier, slower to follow real change).",
                  "minimum": 0.05, "maximum": 0.95},
    )
    remove_outliers: Literal["auto", "on", "off"] = field(
        default="auto",
        metadata={"doc": "Replace single pixels nearer or farther than all eight neighbours (salt-and-pepper) by "
                  "their neighbours' median; thin real structures stay. auto: on for estimated depth and "
                  "disparity maps, off for metric depth (a renderer's Z is exact)."},
    )
    refine_edges: Literal["auto", "on", "off"] = field(
        default="auto",
        metadata={"doc": "Move depth edges to the plate's edges (each stretch of a depth edge moves, along its "
                  "normal, to where the plate's colour jumps most clearly) and smooth the rest "
                  "with a guided filter, the plate as guide. auto: on for estimated depth, off for supplied depth "
                  "(its edges may be better than the plate's colours say) and metric depth."},
    )
    edge_radius_px: int = field(
        default=EDGE_RADIUS_PX,
        metadata={"doc": "Edge refinement: in pixels; depth edges up to about half of it off the plate's edge "
                  "move to it.", "minimum": 3, "maximum": 32},
    )
    percentiles: tuple[float, float] = field(
        default=(1.0, 99.0),
        metadata={"doc": "source 'estimate': the shot's disparity percentiles that become 0 (far) and 1 (near); "
                  "one mapping for the whole shot, never per frame."},
    )

    def __post_init__(self) -> None:
        kind = DEPTH_KIND_ALIASES.get(self.kind, self.kind) if self.kind is not None else None
        if self.source == "estimate":
            if kind not in (None, "normalized_disparity"):
                raise JobError(
                    f"depth.kind: {self.kind!r} does not apply to estimated depth, which is normalized_disparity"
                )
            kind = "normalized_disparity"
            if self.channel:
                raise JobError("depth.channel: not used when depth.source is 'estimate'")
        else:
            kind = kind or "depth"
            for name in ("model",):
                if getattr(self, name) is not None:
                    raise JobError(f"depth.{name}: only used when depth.source is 'estimate'")
        object.__setattr__(self, "kind", kind)
        if self.source == "sequence" and not self.pattern:
            raise JobError("depth.pattern: required when depth.source is 'sequence'")
        if self.source == "channel" and self.pattern:
            raise JobError("depth.pattern: only used when depth.source is 'sequence' or 'estimate'")
        low, high = self.percentiles
        if not 0.0 <= low < high <= 100.0:
            raise JobError(f"depth.percentiles: {list(self.percentiles)} must be two numbers 0 <= low < high <= 100")
        stabilize = self.stabilize
        if stabilize is None:  # jobs before the switch: null = the source's default
            stabilize = "auto"
        elif not isinstance(stabilize, str):  # ... and a number = the weight, 0 = off
            if isinstance(stabilize, bool) or not (float(stabilize) == 0.0 or 0.05 <= float(stabilize) <= 0.95):
                raise JobError(f"depth.stabilize: {stabilize!r} must be auto, on, off, 0 (off) or a weight 0.05..0.95")
            if float(stabilize) > 0.0:
                object.__setattr__(self, "stabilize_weight", float(stabilize))
            stabilize = "on" if float(stabilize) > 0.0 else "off"
        object.__setattr__(self, "stabilize", stabilize)
        if not 3 <= self.edge_radius_px <= 32:
            raise JobError(f"depth.edge_radius_px: {self.edge_radius_px} must be 3..32")
        if not 0.05 <= self.stabilize_weight <= 0.95:
            raise JobError(f"depth.stabilize_weight: {self.stabilize_weight} must be 0.05..0.95")

    @property
    def is_metric(self) -> bool:
        """True when d = 1/z in 1/scene units (focus as a distance, physical lens)."""
        return self.kind in METRIC_KINDS


@dataclass(frozen=True)
class FocusSpec:
    """Where the sharp plane is, per frame."""

    value: Curve | None = field(
        default=None,
        metadata={"doc": "Modes auto, distance, disparity: the focus distance (metric depth, scene units) or disparity."},
    )
    mode: Literal["auto", "distance", "disparity", "point", "matte"] = field(
        default="auto",
        metadata={"doc": "auto: a distance for metric depth, a disparity otherwise. point: the disparity under a "
                  "screen point (x, y). matte: the mean or median disparity inside a subject matte."},
    )
    x: Curve | None = field(
        default=None,
        metadata={"doc": "Mode point: x in pixels of the display window (format), from its left edge; keyframeable."},
    )
    y: Curve | None = field(
        default=None,
        metadata={"doc": "Mode point: y in pixels of the display window, from the edge named by 'origin'; keyframeable."},
    )
    origin: Literal["top_left", "bottom_left"] = field(
        default="top_left",
        metadata={"doc": "Mode point: top_left = y down from the top (image/EXR pixels, the UI); "
                  "bottom_left = y up from the bottom (Nuke's XY knobs, Fusion)."},
    )
    window_px: int = field(
        default=7,
        metadata={"doc": "Mode point: half-size of the square sampled around the point; an edge-aware median "
                  "(pixels that look like the clicked one count most) of its disparity is the focus.",
                  "minimum": 0, "maximum": 256},
    )
    track: bool = field(
        default=False,
        metadata={"doc": "Mode point: follow the subject by optical flow from each key of x/y, so one key is enough."},
    )
    matte: str | None = field(default=None, metadata={"doc": "Mode matte: frame pattern of the subject matte."})
    matte_channel: str | None = field(
        default=None, metadata={"doc": "Mode matte: matte channel. Default: A when present, else the first channel."}
    )
    statistic: Literal["median", "mean"] = field(
        default="median",
        metadata={"doc": "Mode matte: median (robust to matte spill) or mean (as Any-to-Bokeh) of the disparity "
                  "where the matte is >= 0.5."},
    )
    smooth_frames: float = field(
        default=0.0,
        metadata={"doc": "Temporal smoothing of the focus: Gaussian sigma in frames (0 = off).", "minimum": 0.0},
    )

    def __post_init__(self) -> None:
        mode = self.mode
        if mode in ("auto", "distance", "disparity"):
            if self.value is None:
                raise JobError(f"focus.value: required in focus mode {mode!r}")
        elif self.value is not None:
            raise JobError(f"focus.value: not used in focus mode {mode!r} (the focus is picked from the depth)")
        if mode == "point":
            missing = [name for name in ("x", "y") if getattr(self, name) is None]
            if missing:
                raise JobError(f"focus.{missing[0]}: required in focus mode 'point'")
        else:
            for name in ("x", "y"):
                if getattr(self, name) is not None:
                    raise JobError(f"focus.{name}: only used in focus mode 'point'")
            if self.track:
                raise JobError("focus.track: only used in focus mode 'point'")
        if mode == "matte":
            if not self.matte:
                raise JobError("focus.matte: required in focus mode 'matte'")
        elif self.matte or self.matte_channel:
            raise JobError("focus.matte: only used in focus mode 'matte'")


@dataclass(frozen=True)
class StrengthSpec:
    """How strong the defocus is, per frame."""

    value: Curve | None = field(
        default=None,
        metadata={"doc": "Mode k: K of the law r_px = K * |d - d_f| in pixels of the plate. "
                  "Mode max_blur: the largest CoC radius in each frame, in pixels."},
    )
    mode: Literal["k", "lens", "max_blur"] = field(
        default="k",
        metadata={"doc": "k: K given. lens: K from a physical lens and the focus distance (metric depth only). "
                  "max_blur: K per frame so that the largest CoC radius in the frame equals value."},
    )
    reference_width_px: float | None = field(
        default=None,
        metadata={"doc": "Modes k, max_blur: value is in pixels of an image this wide; it is scaled to the "
                  "plate's width (e.g. 1024 for K from Any-to-Bokeh). Default: the plate's own pixels.",
                  "exclusive_minimum": 0.0},
    )
    focal_length_mm: Curve | None = field(
        default=None, metadata={"doc": "Mode lens: focal length f in millimetres; keyframeable (zoom)."}
    )
    f_stop: Curve | None = field(default=None, metadata={"doc": "Mode lens: f-number N; keyframeable."})
    filmback_width_mm: float | None = field(
        default=None,
        metadata={"doc": "Mode lens: width of the filmback (sensor) that the display window spans, in millimetres "
                  "(e.g. 36 for full frame, 24.89 for Super 35).", "exclusive_minimum": 0.0},
    )
    scene_unit_mm: float = field(
        default=1000.0,
        metadata={"doc": "Mode lens: millimetres per scene unit of the depth pass and focus distance "
                  "(1000 = metres, 10 = centimetres, 25.4 = inches).", "exclusive_minimum": 0.0},
    )

    def __post_init__(self) -> None:
        if self.mode in ("k", "max_blur"):
            if self.value is None:
                raise JobError(f"strength.value: required in strength mode {self.mode!r}")
            for name in ("focal_length_mm", "f_stop", "filmback_width_mm"):
                if getattr(self, name) is not None:
                    raise JobError(f"strength.{name}: only used in strength mode 'lens'")
        else:
            if self.value is not None:
                raise JobError("strength.value: not used in strength mode 'lens' (K comes from the lens)")
            if self.reference_width_px is not None:
                raise JobError("strength.reference_width_px: not used in strength mode 'lens'")
            for name in ("focal_length_mm", "f_stop", "filmback_width_mm"):
                if getattr(self, name) is None:
                    raise JobError(f"strength.{name}: required in strength mode 'lens'")
            for name in ("focal_length_mm", "f_stop"):
                curve: Curve = getattr(self, name)
                for key in curve.keys:
                    if not key.value > 0:
                        raise JobError(f"strength.{name}: {key.value:g} at frame {key.frame:g} must be > 0")


@dataclass(frozen=True)
class EngineSpec:
    name: str = field(default="physical", metadata={"doc": "physical (default, no weights) or neural."})
    options: dict[str, Any] = field(default_factory=dict, metadata={"doc": "Engine-specific options."})
    device: str = field(default="auto", metadata={"doc": "auto, cpu, cuda or cuda:N."})

    def __post_init__(self) -> None:
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise JobError(f"engine.device: {self.device!r} is not auto, cpu, cuda or cuda:N")


@dataclass(frozen=True)
class OutputSpec:
    pattern: str = field(metadata={"doc": "Output frame pattern; never the input's."})
    colorspace: str | None = field(default=None, metadata={"doc": "Colour space to write. Default: the input's."})
    pixel_type: Literal["half", "float"] = field(default="half", metadata={"doc": "EXR pixel type of the rendered channels."})
    compression: str | None = field(
        default=None, metadata={"doc": "EXR compression (zip, piz, dwaa:45, ...). Default: the input's."}
    )
    aux_channels: tuple[str, ...] = field(
        default=(), metadata={"doc": "Diagnostic channels to add: the engine's (e.g. coc.radius) and "
                              "depth.conditioned (the disparity the engine used, after depth conditioning)."}
    )
    channels: str = field(
        default="rgba",
        metadata={"doc": "Layers refocused, like Nuke's channels knob: rgba (the plate's layer; every other layer "
                  "passes through unchanged), all (every image layer, with the same CoC) or a comma list of layers."},
    )
    overscan_px: int = field(
        default=0,
        metadata={"doc": "Blurred light may spread past the data window up to the display window plus this many "
                  "pixels; the output data window grows to hold it.", "minimum": 0},
    )

    def __post_init__(self) -> None:
        if self.compression is not None and self.compression.split(":")[0] not in EXR_COMPRESSIONS:
            raise JobError(
                f"output.compression: {self.compression!r} is not one of {', '.join(EXR_COMPRESSIONS)} (optionally :level)"
            )


@dataclass(frozen=True)
class Job:
    """A focuspull render job (schema focuspull.job/1)."""

    input: InputSpec
    depth: DepthSpec
    focus: FocusSpec
    strength: StrengthSpec
    output: OutputSpec
    schema: Literal[SCHEMA_ID] = SCHEMA_ID  # type: ignore[valid-type]  (the one spelling of the id)
    aperture: ApertureSpec = field(default_factory=ApertureSpec)
    engine: EngineSpec = field(default_factory=EngineSpec)
    ocio_config: str | None = field(
        default=None, metadata={"doc": "OCIO config path or ocio:// URI. Default: $OCIO, else the built-in ACES config."}
    )

    @property
    def focus_mode(self) -> str:
        """The focus mode with 'auto' resolved from the depth kind."""
        if self.focus.mode != "auto":
            return self.focus.mode
        return "distance" if self.depth.is_metric else "disparity"

    # -- JSON ---------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any) -> "Job":
        if not isinstance(data, Mapping):
            raise JobError(f"job: expected a JSON object, got {type(data).__name__}")
        schema_id = data.get("schema")
        if schema_id != SCHEMA_ID:
            raise JobError(f"schema: {schema_id!r} is not supported; expected {SCHEMA_ID!r}")
        data = dict(data)
        for name in ("focus", "strength"):
            if name in data and _is_curve_shorthand(data[name]):
                data[name] = {"value": data[name]}
        return from_mapping(cls, data, "job")

    @classmethod
    def load(cls, path: str | Path) -> "Job":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except OSError as err:
            raise JobError(f"{path}: cannot read job file: {err.strerror or err}") from err
        except ValueError as err:
            raise JobError(f"{path}: not valid JSON: {err}") from err
        try:
            return cls.from_dict(data)
        except JobError as err:
            raise JobError(f"{path}: {err}") from err

    def to_dict(self) -> dict[str, Any]:
        return to_mapping(self)

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.dumps())

    def replace(self, **changes: Any) -> "Job":
        return replace(self, **changes)


def _is_curve_shorthand(value: Any) -> bool:
    return isinstance(value, (int, float)) or (isinstance(value, Mapping) and ("keys" in value or "values" in value))


def schema() -> dict[str, Any]:
    """The JSON Schema of focuspull.job/1."""
    out = json_schema(Job)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["$id"] = "https://focuspull.dev/schema/job-1.json"
    out["title"] = SCHEMA_ID
    out["required"] = sorted(set(out.get("required", [])) | {"schema"})
    for name in ("focus", "strength"):
        spec = out["properties"][name]
        out["properties"][name] = {"description": spec.get("description", ""), "anyOf": [dict(CURVE_SCHEMA), spec]}
    return out
