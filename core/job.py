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
        default=None, metadata={"doc": "OCIO colour space of the plate. Default: the config's scene_linear role."}
    )


@dataclass(frozen=True)
class DepthSpec:
    """Where depth comes from and what its values mean."""

    source: Literal["channel", "sequence"] = field(
        default="channel", metadata={"doc": "A channel of the plate, or a separate frame sequence."}
    )
    channel: str | None = field(
        default=None,
        metadata={"doc": "Channel name (e.g. Z, depth.Z). Default: Z or depth.Z in the plate; the first channel of a sequence."},
    )
    pattern: str | None = field(default=None, metadata={"doc": "Depth frame pattern when source is 'sequence'."})
    kind: Literal["depth", "disparity"] = field(
        default="depth",
        metadata={"doc": "depth: distance z, d = 1/z (0 and inf are infinitely far). disparity: larger = nearer, d as is."},
    )

    def __post_init__(self) -> None:
        if self.source == "sequence" and not self.pattern:
            raise JobError("depth.pattern: required when depth.source is 'sequence'")
        if self.source == "channel" and self.pattern:
            raise JobError("depth.pattern: only used when depth.source is 'sequence'")


@dataclass(frozen=True)
class FocusSpec:
    """Where the sharp plane is, per frame."""

    value: Curve = field(metadata={"doc": "Focus distance (depth kind 'depth') or disparity (kind 'disparity')."})
    mode: Literal["auto", "distance", "disparity"] = field(
        default="auto", metadata={"doc": "auto: a distance for metric depth, a disparity for a disparity map."}
    )


@dataclass(frozen=True)
class StrengthSpec:
    """How strong the defocus is, per frame."""

    value: Curve = field(metadata={"doc": "K of the law r_px = K * |d - d_f|, in pixels of the plate."})
    mode: Literal["k"] = "k"


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
        default=(), metadata={"doc": "Diagnostic channels the engine should add (e.g. coc.radius)."}
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
    schema: Literal["focuspull.job/1"] = SCHEMA_ID
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
        return "distance" if self.depth.kind == "depth" else "disparity"

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
