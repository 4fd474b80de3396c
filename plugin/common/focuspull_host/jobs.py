"""The one job builder: what a host node holds -> a checked ``focuspull.job/1`` document.

A host adapter gathers a ``HostInputs``: the job's frames (the plate's own
frame numbers), the plate, depth and matte sequences on disk, the output, and
``values``: every control of the node keyed by its job field
(``"focus.value"``, ``"aperture.blades"``), a number, a string, a menu entry
(its name or, as Fusion's combos answer, its index), or a list of per-frame
samples (one per job frame, in order) for what can be keyframed. The adapters
sample their host's curves themselves (``knob.getValueAt(f)``,
``tool:GetInput(id, t)``), so no host curve maths is re-implemented here.

``build_job`` makes the decisions every host shares (depth from a sequence, a
channel or estimated; focus from a value, a point or a matte; strength as K
or from a lens), drops options equal to the schema's defaults, and checks the
result against the shipped schema.
"""

import json
import os
import re
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Union

from . import schema as js
from .errors import InvalidJob
from .frames import _PATTERN_TOKEN, format_frames, same_frame_file

Curve = Union[float, Dict[str, List[float]]]

# Strength options of one mode only (the core refuses them in the other): a node keeps both sets of
# controls, the job carries the mode's.
LENS_ONLY = ("focal_length_mm", "f_stop", "filmback_width_mm")
K_ONLY = ("reference_width_px",)
# Channel names meaning "the plate's Z": the worker looks for both when none is named.
DEFAULT_DEPTH_CHANNELS = ("", "Z", "depth.Z")


class HostInputs:
    """What a host node holds, in host-neutral terms (see the module docstring)."""

    def __init__(self, frames: Sequence[int], plate: str, output: str, values: Dict[str, Any],
                 depth: Optional[str] = None, matte: Optional[str] = None) -> None:
        self.frames = [int(f) for f in frames]
        self.plate = plate
        self.output = output
        self.values = dict(values)
        self.depth = depth
        self.matte = matte

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "HostInputs":
        """From the snapshot a Lua host writes (keys as the constructor's)."""
        try:
            return cls(data["frames"], str(data["plate"]), str(data["output"]), data.get("values") or {},
                       data.get("depth") or None, data.get("matte") or None)
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidJob("host snapshot: {} is missing or malformed".format(err)) from err


def curve_from_samples(frames: Sequence[float], values: Sequence[float], collapse_constant: bool = True) -> Curve:
    """Dense per-frame samples of a host curve as a job curve; a curve that never changes is a number."""
    if len(frames) != len(values):
        raise InvalidJob("{} frames but {} values".format(len(frames), len(values)))
    if not frames:
        raise InvalidJob("a curve needs at least one sample")
    numbers = [float(v) for v in values]
    for f, v in zip(frames, numbers):
        if v != v or v in (float("inf"), float("-inf")):
            raise InvalidJob("value at frame {} is {}, not a finite number".format(f, v))
    if collapse_constant and len(set(numbers)) == 1:
        return numbers[0]
    return {"frames": [_plain_number(f) for f in frames], "values": numbers}


def _plain_number(f: float) -> Union[int, float]:
    return int(f) if float(f).is_integer() else float(f)


class _Reader:
    """Reads ``values`` by field kind, naming the control in every error."""

    def __init__(self, inputs: HostInputs, schema: Dict[str, Any]) -> None:
        self.inputs = inputs
        self.schema = schema

    def has(self, key: str) -> bool:
        return self.inputs.values.get(key) is not None

    def first(self, key: str) -> Any:
        value = self.inputs.values.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        return value

    def choice(self, key: str, default: str) -> str:
        value = self.first(key)
        if value is None:
            return default
        options = js.choices(self.schema, key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            index = int(round(float(value)))
            if not 0 <= index < len(options):
                raise InvalidJob("{}: entry {} is not one of {}".format(key, value, ", ".join(options)))
            return options[index]
        return str(value)

    def curve(self, key: str, default: Optional[float] = None) -> Optional[Curve]:
        value = self.inputs.values.get(key)
        if value is None:
            return default
        if isinstance(value, list):
            if len(value) != len(self.inputs.frames):
                raise InvalidJob("{}: {} samples for {} frames".format(key, len(value), len(self.inputs.frames)))
            return curve_from_samples(self.inputs.frames, value)
        if isinstance(value, dict):
            return value  # already a job curve ({"keys": ...} or {"frames", "values"})
        try:
            return float(value)
        except (TypeError, ValueError) as err:
            raise InvalidJob("{}: {!r} is not a number".format(key, value)) from err

    def text(self, key: str) -> str:
        value = self.first(key)
        return "" if value is None else str(value).strip()

    def option(self, key: str, spec: Dict[str, Any], kind: str) -> Any:
        """An option's job value, or None when it is unset or the schema's default."""
        if not self.has(key):
            return None
        field = key.split(".", 1)[1]
        default = js.field_default(field, spec)
        value = None  # type: Any
        if kind == "enum":
            value = self.choice(key, str(default))
        elif kind == "bool":
            value = bool(self.first(key))
        elif kind == "int":
            value = int(round(float(self.first(key))))
        elif kind == "curve":
            value = self.curve(key)
            if default is None and value == 0.0:
                value = None
        elif kind == "float":
            value = float(self.first(key))
            if default is None and value == 0.0:
                value = None  # 0 in a number control means "not set" when the core has no default
        else:
            value = self.text(key) or None
        return None if value == default else value


def build_job(inputs: HostInputs, schema: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The job of one node, checked against the shipped schema (``InvalidJob`` names the control)."""
    schema = schema if schema is not None else js.load_schema()
    read = _Reader(inputs, schema)
    if not inputs.frames:
        raise InvalidJob("the frame range is empty")
    if not inputs.plate:
        raise InvalidJob("connect a plate to the FocusPull node's plate input")

    job = {"schema": js.SCHEMA_ID, "input": {"pattern": inputs.plate, "frames": format_frames(inputs.frames)}}  # type: Dict[str, Any]
    sections = {name: {} for name in js.OPTION_SECTIONS}  # type: Dict[str, Dict[str, Any]]
    for key, spec, field_kind in js.option_keys(schema):
        value = read.option(key, spec, field_kind)
        if value is not None:
            name, field = key.split(".", 1)
            sections[name][field] = value

    depth = sections["depth"]
    kind = read.choice("depth.kind", "depth")  # type: Optional[str]  # None: the worker decides
    channel = read.text("depth.channel")
    if inputs.depth:
        depth.update(source="sequence", pattern=inputs.depth)
    elif read.choice("depth.source", "channel") == "estimate":
        depth["source"] = "estimate"
        kind, channel = None, ""  # estimated depth is always normalized disparity
    else:
        depth["source"] = "channel"
    if kind:
        depth["kind"] = kind
    if channel not in DEFAULT_DEPTH_CHANNELS:
        depth["channel"] = channel
    job["depth"] = _ordered(depth, ("source", "kind", "channel", "pattern"))

    focus = sections["focus"]
    mode = read.choice("focus.mode", "auto")
    focus["mode"] = mode
    if mode == "point":
        # Both hosts count y up from the bottom of the frame (Nuke's XY knobs, Fusion's pixels).
        focus.update(x=read.curve("focus.x", 0.0), y=read.curve("focus.y", 0.0), origin="bottom_left")
    elif mode == "matte":
        if not inputs.matte:
            raise InvalidJob("focus mode 'matte': connect the subject matte to the matte input")
        focus["matte"] = inputs.matte
    else:
        focus["value"] = read.curve("focus.value", 2.0)
    job["focus"] = _ordered(focus, ("value", "mode"))

    strength = sections["strength"]
    strength_mode = read.choice("strength.mode", "k")
    strength["mode"] = strength_mode
    for field in (K_ONLY if strength_mode == "lens" else LENS_ONLY):
        strength.pop(field, None)
    if strength_mode != "lens":
        strength["value"] = read.curve("strength.value", 10.0)
    job["strength"] = _ordered(strength, ("value", "mode"))

    output = {"pattern": inputs.output, "pixel_type": read.choice("output.pixel_type", "half")}  # type: Dict[str, Any]
    compression = read.text("output.compression")
    if compression and compression != "input":
        output["compression"] = compression
    job["output"] = output
    job["engine"] = {"name": read.choice("engine.name", "physical"), "options": _engine_options(inputs.values),
                     "device": read.choice("engine.device", "auto")}
    if sections["aperture"]:
        job["aperture"] = sections["aperture"]

    if same_frame_file(inputs.output, inputs.plate, inputs.frames[0]):
        raise InvalidJob("output: {} is the plate itself; choose another output".format(inputs.output))
    js.check_job(job, schema)
    return job


def _ordered(section: Dict[str, Any], first: Sequence[str]) -> Dict[str, Any]:
    out = {k: section[k] for k in first if k in section}
    out.update((k, v) for k, v in section.items() if k not in out)
    return out


def _engine_options(values: Dict[str, Any]) -> Dict[str, Any]:
    raw = values.get("engine.options")
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return dict(raw)
    try:
        options = json.loads(str(raw))
    except ValueError as err:
        raise InvalidJob("engine options: not valid JSON ({})".format(err)) from err
    if not isinstance(options, dict):
        raise InvalidJob("engine options: expected a JSON object like {\"planes\": 32}")
    return options


def job_path_for(output_pattern: str) -> str:
    """Where a host keeps the job of an output: next to the frames, ``<name>.job.json``."""
    folder, name = os.path.split(output_pattern)
    stem = _PATTERN_TOKEN.sub("", name)
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", stem).rstrip("._-") or "focuspull"
    return os.path.join(folder, stem + ".job.json")


def write_json(data: Any, path: str) -> str:
    """Write JSON through a temporary file in the same folder, then rename it into place."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
