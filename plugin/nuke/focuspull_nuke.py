"""The FocusPull node for Nuke: a Group built from Python that renders out of process.

The Group has two inputs (``plate`` and an optional ``depth``) and, inside,
a Read that shows the rendered frames once a render has finished, so
everything downstream sees the refocused plate. Render:

1. finds the plate on disk: an EXR Read in a scene-linear colour space is
   used as it is, anything else is written through an internal Write (EXR,
   scene-linear) first; the optional depth input likewise;
2. samples every animated knob at every frame with ``getValueAt`` and writes a
   ``focuspull.job/1`` job next to the output;
3. runs the worker (``<worker python> -m focuspull render --job ...``) on a
   thread with a ``nuke.ProgressTask``; knob changes go through
   ``nuke.executeInMainThread``;
4. on success points the internal Read at the output (frame range and colour
   space set) and switches the Group's output to it.

Submit to farm gathers the same job (steps 1-2), then has the worker export
an Open Job Description bundle next to the output (``<output name>.farm/``)
and submit it with the Deadline Cloud CLI when that is installed and
configured (``focuspull_farm``); otherwise the artist is told where the bundle
is and the command that submits it.

Errors land on the node's status line and in a message box, never as a
traceback dialog. Without a GUI (``nuke -t``, the farm) Render and Submit to
farm run in the calling thread.

Buttons: ``ACTIONS`` lists the row of buttons (Render, Submit to farm,
Cancel); more are added with ``register_action`` before nodes are created, and
existing nodes get them through ``ensure_actions``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import nuke

import focuspull_client as fc
import focuspull_farm as farm

log = logging.getLogger("focuspull.nuke")

VERSION = 1
MARKER_KNOB = "focuspull_version"
PLATE_INPUT, DEPTH_INPUT, MATTE_INPUT = 0, 1, 2
INNER_READ = "FocusPullResult"
INNER_SWITCH = "FocusPullSwitch"
PLATE_WRITE = "FocusPullPlateWrite"
DEPTH_WRITE = "FocusPullDepthWrite"
MATTE_WRITE = "FocusPullMatteWrite"
FARM_CHUNK_KNOB = "farm_chunk_size"

ENGINES = ["physical", "neural"]
DEVICES = ["auto", "cpu", "cuda"]
COMPRESSIONS = ["input", "zip", "zips", "piz", "dwaa", "dwab", "pxr24", "b44", "none"]
# Other names the schema accepts for a depth convention; the menu shows the canonical ones.
DEPTH_KIND_ALIASES = ("distance", "far_zero")
# Fields every node sets through its own knobs/inputs; the other fields of these job
# sections get a knob each, made from the job schema (so new core options show up).
EXPLICIT_FIELDS = {
    "depth": ("source", "channel", "pattern", "kind", "percentiles"),
    "focus": ("value", "mode", "x", "y", "origin", "matte"),
    "strength": ("value", "mode"),
    "aperture": (),
}
# Curve fields of the schema carry no default (the core builds it); neutral values here.
CURVE_FALLBACK_DEFAULTS = {"aspect": 1.0, "rotation_deg": 0.0}
LINEAR_NAMES = {"linear", "scene_linear", "scene linear", "raw", "data", "acescg", "aces2065-1", "reference"}


class Action:
    """A button in the node's action row: ``command`` runs in Nuke with ``nuke.thisNode()`` set."""

    def __init__(self, name: str, label: str, command: str, tooltip: str = "") -> None:
        self.name = name
        self.label = label
        self.command = command
        self.tooltip = tooltip


ACTIONS: List[Action] = [
    Action("render", "Render", "import focuspull_nuke\nfocuspull_nuke.on_render()",
           "Render the refocused plate out of process and show it in this node."),
    Action("submit_farm", "Submit to farm", "import focuspull_nuke\nfocuspull_nuke.on_submit_to_farm()",
           "Export this node's shot as a farm job bundle next to the output (<output name>.farm/) and submit it "
           "to AWS Deadline Cloud when the deadline CLI is installed and configured."),
    Action("cancel", "Cancel", "import focuspull_nuke\nfocuspull_nuke.on_cancel()",
           "Stop the running render (frames already written stay on disk)."),
]


def register_action(name: str, label: str, command: str, tooltip: str = "", after: Optional[str] = None) -> None:
    """Add a button to the action row (e.g. "Submit to farm"), after ``after`` or at the end."""
    for existing in ACTIONS:
        if existing.name == name:
            ACTIONS.remove(existing)
            break
    action = Action(name, label, command, tooltip)
    names = [a.name for a in ACTIONS]
    ACTIONS.insert(names.index(after) + 1 if after in names else len(ACTIONS), action)


# -- the job schema as knobs ---------------------------------------------------------------
def section(schema: Dict[str, Any], name: str) -> Dict[str, Any]:
    """The object schema of a job section (focus and strength also accept a bare curve)."""
    spec: Dict[str, Any] = schema.get("properties", {}).get(name, {})
    for option in spec.get("anyOf", []):
        if option.get("type") == "object" and "mode" in option.get("properties", {}):
            found: Dict[str, Any] = option
            return found
    return spec


def enum_of(spec: Dict[str, Any]) -> List[str]:
    if "enum" in spec:
        return [str(v) for v in spec["enum"]]
    for option in spec.get("anyOf", []) + spec.get("oneOf", []):
        if "enum" in option:
            return [str(v) for v in option["enum"]]
    return []


def _types(spec: Dict[str, Any]) -> List[str]:
    out = [spec["type"]] if isinstance(spec.get("type"), str) else []
    for option in spec.get("anyOf", []):
        if isinstance(option.get("type"), str):
            out.append(option["type"])
    return out


def is_curve(spec: Dict[str, Any]) -> bool:
    """A keyframeable field: a number or {keys} or {frames, values} (maybe also null)."""
    options = spec.get("oneOf", []) + [o for a in spec.get("anyOf", []) for o in a.get("oneOf", [a])]
    return any(o.get("type") == "number" for o in options) and any("keys" in o.get("properties", {}) for o in options)


def field_kind(spec: Dict[str, Any]) -> Optional[str]:
    """enum | curve | int | float | bool | string, or None for what a knob cannot hold."""
    if enum_of(spec):
        return "enum"
    if is_curve(spec):
        return "curve"
    types = _types(spec)
    for kind, name in (("integer", "int"), ("number", "float"), ("boolean", "bool"), ("string", "string")):
        if kind in types:
            return name
    return None


def field_default(name: str, spec: Dict[str, Any]) -> Any:
    if "default" in spec:
        return spec["default"]
    return CURVE_FALLBACK_DEFAULTS.get(name) if is_curve(spec) else None


def option_fields(schema: Dict[str, Any], name: str) -> List[Tuple[str, Dict[str, Any], str]]:
    """(field, spec, kind) of the fields of a job section that get generic knobs."""
    skip = EXPLICIT_FIELDS.get(name, ())
    out = []
    for field, spec in section(schema, name).get("properties", {}).items():
        kind = field_kind(spec)
        if field not in skip and kind is not None:
            out.append((field, spec, kind))
    return out


def option_knobs(schema: Dict[str, Any], name: str) -> List[nuke.Knob]:
    """A knob ``<section>_<field>`` for every option of a job section; curves are animatable."""
    knobs: List[nuke.Knob] = []
    for field, spec, kind in option_fields(schema, name):
        knob_name = "{}_{}".format(name, field)
        label = field.replace("_deg", " (deg)").replace("_mm", " (mm)").replace("_px", " (px)").replace("_", " ")
        default = field_default(field, spec)
        knob: nuke.Knob
        if kind == "enum":
            values = enum_of(spec)
            knob = nuke.Enumeration_Knob(knob_name, label, values)
            if default in values:
                knob.setValue(str(default))
        elif kind == "bool":
            knob = nuke.Boolean_Knob(knob_name, label)
            knob.setValue(bool(default))
        elif kind == "int":
            knob = nuke.Int_Knob(knob_name, label)
            knob.setFlag(nuke.NO_ANIMATION)
            knob.setValue(int(default or 0))
        elif kind in ("float", "curve"):
            knob = nuke.Double_Knob(knob_name, label)
            high = spec.get("maximum", max(1.0, 4.0 * float(default or 0.0)))
            knob.setRange(float(spec.get("minimum", 0.0)), float(high))
            if kind == "float":
                knob.setFlag(nuke.NO_ANIMATION)  # only curve fields are keyframeable in the job
            knob.setValue(float(default or 0.0))
        else:
            knob = nuke.File_Knob(knob_name, label) if field.endswith("_path") else nuke.String_Knob(knob_name, label)
        tooltip = spec.get("description", "")
        if default is None and kind in ("float", "curve"):
            tooltip += " 0: not set."
        knob.setTooltip(tooltip.strip())
        knobs.append(knob)
    return knobs


def option_values(group: nuke.Node, schema: Dict[str, Any], name: str, frames: List[int]) -> Dict[str, Any]:
    """The options of a job section that differ from the schema's defaults (unset ones left out)."""
    out: Dict[str, Any] = {}
    for field, spec, kind in option_fields(schema, name):
        knob = group.knob("{}_{}".format(name, field))
        if knob is None:
            continue  # a node made before this option existed
        default = field_default(field, spec)
        value: Any
        if kind == "enum":
            value = str(knob.value())
        elif kind == "bool":
            value = bool(knob.value())
        elif kind == "int":
            value = int(knob.value())
        elif kind == "curve":
            value = knob_curve(knob, frames)
            if default is None and value == 0.0:
                value = None
        elif kind == "float":
            value = float(knob.value())
            if default is None and value == 0.0:
                value = None
        else:
            value = str(knob.value()).strip() or None
        if value is not None and value != default:
            out[field] = value
    return out


# -- building the node ------------------------------------------------------------
def create_node() -> nuke.Group:
    """Menu entry: a FocusPull node connected to the selected node."""
    selected = nuke.selectedNodes()
    group = build_group()
    if selected:
        source = selected[-1]
        group.setInput(PLATE_INPUT, source)
        group.setXYpos(source.xpos(), source.ypos() + 80)
        for node in selected:
            node.setSelected(False)
    group.setSelected(True)
    return group


def build_group(name: str = "FocusPull1") -> nuke.Group:
    group = nuke.nodes.Group()
    group.setName(name, uncollide=True)
    group.begin()
    try:
        plate = nuke.nodes.Input(name="plate")
        depth = nuke.nodes.Input(name="depth")
        matte = nuke.nodes.Input(name="matte")
        for write_name, source in ((PLATE_WRITE, plate), (DEPTH_WRITE, depth), (MATTE_WRITE, matte)):
            write = nuke.nodes.Write(name=write_name, inputs=[source])
            write["disable"].setValue(True)  # only the plugin renders these, never "Render all"
            write["file_type"].setValue("exr")
            write["create_directories"].setValue(True)
        read = nuke.nodes.Read(name=INNER_READ)
        switch = nuke.nodes.Switch(name=INNER_SWITCH, inputs=[plate, read])
        switch["which"].setValue(0)
        nuke.nodes.Output(inputs=[switch])
    finally:
        group.end()
    add_knobs(group)
    return group


def _enumeration(name: str, label: str, values: List[str], default: Optional[str], tooltip: str,
                 newline: bool = True) -> nuke.Knob:
    knob = nuke.Enumeration_Knob(name, label, values)
    if default in values:
        knob.setValue(default)
    knob.setTooltip(tooltip)
    if not newline:
        knob.clearFlag(nuke.STARTLINE)
    return knob


def add_knobs(group: nuke.Node) -> None:
    schema = fc.load_schema()
    depth_spec = section(schema, "depth").get("properties", {})
    focus_spec = section(schema, "focus").get("properties", {})
    strength_spec = section(schema, "strength").get("properties", {})
    group.addKnob(nuke.Tab_Knob("focuspull_tab", "FocusPull"))
    marker = nuke.Int_Knob(MARKER_KNOB, "version")
    marker.setValue(VERSION)
    marker.setFlag(nuke.INVISIBLE)
    group.addKnob(marker)

    group.addKnob(_enumeration("engine", "engine", ENGINES, "physical",
                               "physical: layered lens renderer, no weights. neural: Any-to-Bokeh (needs weights)."))
    group.addKnob(_enumeration("device", "device", DEVICES, "auto", "auto: CUDA when present.", newline=False))
    options = nuke.String_Knob("engine_options", "engine options")
    options.setTooltip('Engine options as JSON, e.g. {"planes": 32}. Empty: the engine\'s defaults.')
    group.addKnob(options)

    group.addKnob(nuke.Text_Knob("depth_divider", "depth"))
    sources = [v for v in enum_of(depth_spec.get("source", {})) if v != "sequence"] or ["channel"]
    group.addKnob(_enumeration("depth_source", "depth from", sources, "channel",
                               "channel: a channel of the plate. estimate: monocular depth estimated from the plate. "
                               "A connected 'depth' input always wins."))
    channel = nuke.String_Knob("depth_channel", "depth channel", "depth.Z")
    channel.setTooltip("Channel of the depth input, or of the plate when the depth input is empty. "
                       "depth.Z also finds an EXR 'Z' channel.")
    group.addKnob(channel)
    kinds = [v for v in enum_of(depth_spec.get("kind", {})) if v not in DEPTH_KIND_ALIASES] or ["depth", "disparity"]
    group.addKnob(_enumeration("depth_kind", "convention", kinds, "depth",
                               depth_spec.get("kind", {}).get("description", "")))
    for knob in option_knobs(schema, "depth"):
        group.addKnob(knob)

    group.addKnob(nuke.Text_Knob("focus_divider", "focus"))
    modes = enum_of(focus_spec.get("mode", {})) or ["auto", "distance", "disparity"]
    group.addKnob(_enumeration("focus_mode", "focus mode", modes, "auto",
                               focus_spec.get("mode", {}).get("description", "") +
                               " point uses 'focus point'; matte uses the 'matte' input."))
    focus = nuke.Double_Knob("focus", "focus")
    focus.setRange(0.0, 100.0)
    focus.setValue(2.0)
    focus.setTooltip("Focus distance (scene units) or disparity. Keyframe it for a focus pull.")
    group.addKnob(focus)
    point = nuke.XY_Knob("focus_point", "focus point")
    point.setTooltip("Focus mode 'point': the pixel whose depth is in focus. Animate it (or link it to a Tracker) "
                     "to follow a subject.")
    group.addKnob(point)
    for knob in option_knobs(schema, "focus"):
        group.addKnob(knob)

    group.addKnob(nuke.Text_Knob("strength_divider", "strength"))
    strength_modes = enum_of(strength_spec.get("mode", {})) or ["k"]
    group.addKnob(_enumeration("strength_mode", "strength mode", strength_modes, "k",
                               strength_spec.get("mode", {}).get("description", "")))
    strength = nuke.Double_Knob("strength", "strength")
    strength.setRange(0.0, 100.0)
    strength.setValue(10.0)
    strength.setTooltip("Mode k: K, blur radius in plate pixels = K * |d - d_focus|. Mode max_blur: the largest "
                        "blur radius in pixels. Keyframeable.")
    group.addKnob(strength)
    for knob in option_knobs(schema, "strength"):
        group.addKnob(knob)

    group.addKnob(nuke.Text_Knob("aperture_divider", "aperture"))
    for knob in option_knobs(schema, "aperture"):
        group.addKnob(knob)

    group.addKnob(nuke.Text_Knob("output_divider", "output"))
    output = nuke.File_Knob("output", "output")
    output.setTooltip("Output frames, e.g. /shots/sh010/comp/refocus.####.exr. Empty: next to the script.")
    group.addKnob(output)
    pixel_types = enum_of(section(schema, "output").get("properties", {}).get("pixel_type", {})) or ["half", "float"]
    group.addKnob(_enumeration("pixel_type", "pixel type", pixel_types, "half", "EXR pixel type of the result."))
    group.addKnob(_enumeration("compression", "compression", COMPRESSIONS, "input",
                               "EXR compression; input: the plate's.", newline=False))
    frames = nuke.String_Knob("frames", "frame range")
    frames.setTooltip("e.g. 1001-1100, 1001-1100x2, 1001,1005. Empty: the plate's range.")
    group.addKnob(frames)
    chunk = nuke.Int_Knob(FARM_CHUNK_KNOB, "frames per task")
    chunk.setFlag(nuke.NO_ANIMATION)
    chunk.clearFlag(nuke.STARTLINE)
    chunk.setValue(farm.DEFAULT_CHUNK_SIZE)
    chunk.setTooltip("Submit to farm: frames per farm task. Every task pays a few seconds of start-up, and the "
                     "neural engine renders 8 context frames per task: larger chunks waste less, smaller ones "
                     "spread the shot over more machines.")
    group.addKnob(chunk)

    group.addKnob(nuke.Text_Knob("actions_divider", ""))
    ensure_actions(group)
    group.addKnob(nuke.Text_Knob("status", "status", "idle"))


def ensure_actions(group: nuke.Node) -> None:
    """Give ``group`` a button for every registered action (new ones after existing ones)."""
    first = True
    for action in ACTIONS:
        knob = group.knob(action.name)
        if knob is None:
            knob = nuke.PyScript_Knob(action.name, action.label, action.command)
            if not first:
                knob.clearFlag(nuke.STARTLINE)
            knob.setTooltip(action.tooltip)
            group.addKnob(knob)
        first = False


def is_focuspull(node: Optional[nuke.Node]) -> bool:
    return node is not None and node.knob(MARKER_KNOB) is not None


def inner(group: nuke.Node, name: str) -> nuke.Node:
    found = None
    if isinstance(group, nuke.Group):
        found = group.node(name)
    if found is None:
        raise fc.ClientError("{}: its internal node {} is missing; recreate the FocusPull node".format(group.name(), name))
    return found


# -- where the pixels come from ---------------------------------------------------------
def is_scene_linear(colorspace: str) -> bool:
    """True for colour-space names that mean scene-linear (Nuke's and common OCIO configs')."""
    name = colorspace.strip().lower()
    match = re.match(r"^default \((.*)\)$", name)
    if match:
        name = match.group(1)
    if name in LINEAR_NAMES:
        return True
    if "log" in name or "acescc" in name:
        return False
    return name.startswith("lin_") or name.startswith("linear") or " linear" in name or "acescg" in name or "aces2065" in name


class Source:
    """A sequence on disk the worker can read, and how it got there."""

    def __init__(self, pattern: str, colorspace: Optional[str], raw: bool, needs_write: Optional[nuke.Node]) -> None:
        self.pattern = pattern
        self.colorspace = colorspace
        self.raw = raw
        self.needs_write = needs_write  # the internal Write to execute first, or None

    def __repr__(self) -> str:
        return "Source({!r}, write={})".format(self.pattern, self.needs_write is not None)


def direct_exr(node: Optional[nuke.Node], data: bool = False) -> Optional[Tuple[str, str, bool]]:
    """(pattern, colorspace, raw) when ``node`` is a Read of EXRs the worker can read as they are:
    scene-linear (or raw) colour for a plate, anything for data (depth, mattes), no frame offset."""
    if node is None or node.Class() != "Read":
        return None
    path = nuke.filename(node) or ""
    if not path.lower().endswith(".exr"):
        return None
    offset = node.knob("frame")
    if offset is not None and str(offset.value()).strip():
        return None  # the Read remaps frames; the worker would read the wrong files
    raw_knob = node.knob("raw")
    raw = bool(raw_knob.value()) if raw_knob is not None else False
    cs_knob = node.knob("colorspace")
    colorspace = str(cs_knob.value()) if cs_knob is not None else "linear"
    if data or raw or is_scene_linear(colorspace):
        return fc.to_hash_pattern(path), colorspace, raw
    return None


def plan_source(group: nuke.Node, index: int, write_name: str, cache_dir: str, label: str) -> Source:
    data = label != "plate"  # depth and mattes are data: read as stored, never colour-converted
    upstream = group.input(index)
    found = direct_exr(upstream, data=data)
    if found is not None:
        pattern, colorspace, raw = found
        return Source(pattern, colorspace, raw, None)
    write = inner(group, write_name)
    pattern = os.path.join(cache_dir, "{}_{}.####.exr".format(group.name(), label)).replace("\\", "/")
    write["file"].setValue(pattern)
    write["file_type"].setValue("exr")
    write["channels"].setValue("all")
    write["datatype"].setValue("32 bit float" if data else "16 bit half")
    write["raw"].setValue(data)
    written_space = None if data else _set_scene_linear(write)
    return Source(pattern, written_space, data, write)


def _set_scene_linear(write: nuke.Node) -> str:
    knob = write["colorspace"]
    for name in ("scene_linear", "linear", "default (scene_linear)", "default (linear)"):
        try:
            knob.setValue(name)
            return name
        except (ValueError, TypeError):
            continue
    return str(knob.value())


def render_sources(sources: List[Source], frames: List[int]) -> None:
    """Execute the internal Writes that must put their input on disk first (main thread)."""
    for source in sources:
        write = source.needs_write
        if write is None:
            continue
        write["disable"].setValue(False)
        try:
            for first, last in fc.frame_runs(frames):
                nuke.execute(write, first, last, 1)
        finally:
            write["disable"].setValue(True)


# -- the job ------------------------------------------------------------------------------------
class Plan:
    """Everything a render needs, gathered on the main thread."""

    def __init__(self, job: Dict[str, Any], frames: List[int], sources: List[Source], job_path: str) -> None:
        self.job = job
        self.frames = frames
        self.sources = sources
        self.job_path = job_path

    @property
    def plate(self) -> Source:
        return self.sources[0]


def frames_of(group: nuke.Node) -> List[int]:
    text = str(group["frames"].value()).strip()
    if text:
        return fc.parse_frames(text)
    plate = group.input(PLATE_INPUT)
    if plate is None:
        raise fc.InvalidJob("connect a plate to the 'plate' input")
    first, last = int(plate.firstFrame()), int(plate.lastFrame())
    if last < first:
        raise fc.InvalidJob("the plate has no frames ({}-{})".format(first, last))
    return list(range(first, last + 1))


def knob_curve(knob: nuke.Knob, frames: List[int], index: int = -1) -> fc.Curve:
    """A knob as a job curve: every frame sampled with getValueAt when animated, else its value."""
    if knob.isAnimated() or knob.hasExpression():
        if index >= 0:
            return fc.sample_curve(lambda f: float(knob.getValueAt(f, index)), frames)
        return fc.sample_curve(lambda f: float(knob.getValueAt(f)), frames)
    value = knob.value() if index < 0 else knob.value(index)
    return float(value)


def output_pattern(group: nuke.Node) -> str:
    text = os.path.expandvars(str(group["output"].value()).strip())
    if text:
        return text
    script = nuke.root().name()
    base = os.path.dirname(script) if script and script != "Root" else os.path.join(tempfile.gettempdir(), "focuspull")
    return os.path.join(base, "focuspull", group.name(), group.name() + ".####.exr").replace("\\", "/")


def _knob_value(group: nuke.Node, name: str, default: str) -> str:
    knob = group.knob(name)
    return str(knob.value()) if knob is not None else default


def build_plan(group: nuke.Node) -> Plan:
    """Gather the job from the node (main thread). Writes nothing to disk except Write settings."""
    if group.input(PLATE_INPUT) is None:
        raise fc.InvalidJob("connect a plate to the 'plate' input")
    schema = fc.load_schema()
    frames = frames_of(group)
    output = output_pattern(group)
    cache_dir = os.path.join(os.path.dirname(output), "_focuspull_input")
    plate = plan_source(group, PLATE_INPUT, PLATE_WRITE, cache_dir, "plate")
    sources = [plate]

    # depth: the depth input, else a plate channel, else estimated from the plate
    kind: Optional[str] = _knob_value(group, "depth_kind", "depth")
    channel = str(group["depth_channel"].value()).strip()
    depth_args: Dict[str, Any] = {"depth_options": option_values(group, schema, "depth", frames)}
    if group.input(DEPTH_INPUT) is not None:
        depth = plan_source(group, DEPTH_INPUT, DEPTH_WRITE, cache_dir, "depth")
        sources.append(depth)
        depth_args.update(depth_source="sequence", depth_pattern=depth.pattern)
        if channel and channel not in ("depth.Z", "Z"):
            depth_args["depth_channel"] = channel
    elif _knob_value(group, "depth_source", "channel") == "estimate":
        depth_args["depth_source"] = "estimate"
        kind = None  # estimated depth is always normalized disparity
    elif channel and channel not in ("depth.Z", "Z"):
        # Nuke's depth.Z is an EXR "Z" channel; the worker looks for both when none is named.
        depth_args["depth_channel"] = channel

    mode = str(group["focus_mode"].value())
    focus: Optional[fc.Curve] = None
    focus_options = option_values(group, schema, "focus", frames)
    if mode == "point":
        point = group["focus_point"]
        # XY knobs count y up from the bottom of the format, as the worker's 'bottom_left' origin.
        focus_options.update(x=knob_curve(point, frames, 0), y=knob_curve(point, frames, 1), origin="bottom_left")
    elif mode == "matte":
        if group.input(MATTE_INPUT) is None:
            raise fc.InvalidJob("focus mode 'matte': connect the subject matte to the 'matte' input")
        matte = plan_source(group, MATTE_INPUT, MATTE_WRITE, cache_dir, "matte")
        sources.append(matte)
        focus_options["matte"] = matte.pattern
    else:
        focus = knob_curve(group["focus"], frames)

    strength_mode = _knob_value(group, "strength_mode", "k")
    strength = None if strength_mode == "lens" else knob_curve(group["strength"], frames)

    options_text = str(group["engine_options"].value()).strip()
    try:
        options = json.loads(options_text) if options_text else {}
    except ValueError as err:
        raise fc.InvalidJob("engine options: not valid JSON ({})".format(err)) from err
    if not isinstance(options, dict):
        raise fc.InvalidJob("engine options: expected a JSON object like {\"planes\": 32}")

    compression = str(group["compression"].value())
    job = fc.make_job(
        plate.pattern,
        output,
        focus,
        strength,
        frames=frames,
        # A scene-linear plate is passed through as it is: no conversion in, none out.
        input_colorspace=None,
        depth_kind=kind,
        focus_mode=mode,
        focus_options=focus_options,
        strength_mode=strength_mode,
        strength_options=option_values(group, schema, "strength", frames),
        engine=str(group["engine"].value()),
        engine_options=options,
        device=str(group["device"].value()),
        aperture=option_values(group, schema, "aperture", frames) or None,
        pixel_type=str(group["pixel_type"].value()),
        compression=None if compression == "input" else compression,
        **depth_args
    )
    if fc.same_frame_file(output, plate.pattern, frames[0]):
        raise fc.InvalidJob("output: {} is the plate itself; choose another output path".format(output))
    fc.check_job(job)
    return Plan(job, frames, sources, fc.job_path_for(output))


# -- rendering ------------------------------------------------------------------------------------
class Session:
    """A running render of one node."""

    def __init__(self, node_name: str) -> None:
        self.node_name = node_name
        self.cancel_requested = threading.Event()
        self.thread: Optional[threading.Thread] = None
        self.worker: Optional[fc.WorkerProcess] = None
        self.result: Optional[fc.RenderResult] = None
        self.error: Optional[BaseException] = None
        self.finished = threading.Event()


_sessions: Dict[str, Session] = {}


def session_of(group: nuke.Node) -> Optional[Session]:
    return _sessions.get(group.fullName())


def set_status(group: nuke.Node, text: str) -> None:
    group["status"].setValue(text)


def _node_by_name(name: str) -> Optional[nuke.Node]:
    return nuke.toNode(name)


def _on_main(threaded: bool, call: Callable[..., None], *args: Any) -> None:
    """Run ``call`` on Nuke's main thread: queued from a worker thread, at once otherwise."""
    if threaded:
        nuke.executeInMainThread(call, args=args)
    else:
        call(*args)


def _host_prefixes() -> List[str]:
    """Nuke's own install folder: library paths under it are not passed on to the worker."""
    return [os.path.dirname(getattr(nuke, "EXE_PATH", "") or "")]


def on_render() -> None:
    """The Render button."""
    group = nuke.thisNode()
    try:
        render(group)
    except Exception as err:  # the artist sees a message, never a traceback dialog
        fail(group, err)


def on_submit_to_farm() -> None:
    """The Submit to farm button."""
    group = nuke.thisNode()
    try:
        submit_to_farm(group)
    except Exception as err:
        fail(group, err)


def on_cancel() -> None:
    """The Cancel button."""
    group = nuke.thisNode()
    try:
        cancel(group)
    except Exception as err:
        fail(group, err)


def fail(group: nuke.Node, error: BaseException) -> None:
    text = fc.describe_error(error)
    if not isinstance(error, fc.ClientError):
        log.exception("FocusPull: unexpected error", exc_info=error)
    log.error("%s", text)
    first_line = text.splitlines()[0]
    try:
        set_status(group, "error: " + first_line.replace("FocusPull: ", "", 1))
    except Exception:  # the node may have been deleted meanwhile
        pass
    if nuke.GUI:
        nuke.message(text)


def cancel(group: nuke.Node) -> bool:
    session = session_of(group)
    if session is None or session.finished.is_set():
        set_status(group, "nothing to cancel")
        return False
    session.cancel_requested.set()
    set_status(group, "cancelling...")
    return True


def prepare(group: nuke.Node, starting: str) -> Plan:
    """The job of ``group`` with its inputs on disk as EXR (main thread): where Render and Submit to farm start."""
    plan = build_plan(group)
    fc.worker_command()  # fail now, on the node, when no worker is configured
    set_status(group, "writing the input to EXR..." if any(s.needs_write for s in plan.sources) else starting)
    render_sources(plan.sources, plan.frames)
    return plan


def render(group: nuke.Node, wait: Optional[bool] = None) -> Session:
    """Render ``group``. In the GUI this returns at once and the render runs on a thread;
    with ``wait=True`` (default without a GUI) it returns when the render is over."""
    if not is_focuspull(group):
        raise fc.ClientError("{} is not a FocusPull node".format(group.name()))
    running = session_of(group)
    if running is not None and not running.finished.is_set():
        raise fc.ClientError("{} is already rendering; Cancel it first".format(group.name()), code="busy")
    plan = prepare(group, "starting...")
    session = Session(group.fullName())
    _sessions[session.node_name] = session
    if wait is None:
        wait = not nuke.GUI
    if wait:
        _run(session, plan, threaded=False)
    else:
        session.thread = threading.Thread(target=_run, args=(session, plan, True), name="FocusPull " + group.name(), daemon=True)
        session.thread.start()
    return session


def _run(session: Session, plan: Plan, threaded: bool) -> None:
    """The render itself; on a thread in the GUI, so every node change is marshalled."""
    task: Any = nuke.ProgressTask("FocusPull {}".format(session.node_name)) if nuke.GUI else None

    def on_event(event: fc.Event) -> None:
        text = fc.progress_text(event)
        fraction = fc.progress_fraction(event)
        if task is not None:
            task.setMessage(text)
            if fraction is not None:
                task.setProgress(int(round(100 * fraction)))
        else:
            log.info("%s: %s", session.node_name, text)
        _on_main(threaded, _update_status, session.node_name, text)

    def is_cancelled() -> bool:
        if task is not None and task.isCancelled():
            session.cancel_requested.set()
        return session.cancel_requested.is_set()

    def on_start(worker: fc.WorkerProcess) -> None:
        session.worker = worker

    try:
        result = fc.run_job(plan.job, plan.job_path, on_event=on_event, is_cancelled=is_cancelled, on_start=on_start,
                            on_log=lambda line: log.debug("worker: %s", line), host_prefixes=_host_prefixes())
        session.result = result
        _on_main(threaded, _show_result, session.node_name, plan, result)
    except Exception as err:
        session.error = err
        _on_main(threaded, _report_failure, session.node_name, err)
    finally:
        if task is not None:
            task.setProgress(100)
            del task
        _on_main(threaded, _finish, session)


def _finish(session: Session) -> None:
    session.finished.set()


def _update_status(node_name: str, text: str) -> None:
    group = _node_by_name(node_name)
    if group is not None:
        set_status(group, text)


def _report_failure(node_name: str, error: BaseException) -> None:
    group = _node_by_name(node_name)
    if group is None:
        log.error("%s", fc.describe_error(error))
        return
    if isinstance(error, fc.RenderCancelled):
        set_status(group, "cancelled: " + error.message)
        return
    fail(group, error)


def _show_result(node_name: str, plan: Plan, result: fc.RenderResult) -> None:
    """Point the internal Read at the output so everything downstream sees it (main thread)."""
    group = _node_by_name(node_name)
    if group is None:
        return
    show_output(group, result.output_pattern, plan.frames, plan.plate.colorspace, plan.plate.raw)
    set_status(group, "rendered {} frame(s) to {} in {:.1f}s".format(result.frames_done, result.output_pattern,
                                                                      result.seconds))


def show_output(group: nuke.Node, pattern: str, frames: List[int], colorspace: Optional[str], raw: bool) -> None:
    read = inner(group, INNER_READ)
    read["file"].setValue(fc.to_hash_pattern(pattern))
    first, last = min(frames), max(frames)
    for name, value in (("first", first), ("last", last), ("origfirst", first), ("origlast", last)):
        knob = read.knob(name)
        if knob is not None:
            knob.setValue(value)
    if colorspace:
        try:
            read["colorspace"].setValue(colorspace)
        except (ValueError, TypeError):
            log.warning("%s: colour space %r is unknown here; check the Read", group.name(), colorspace)
    read["raw"].setValue(bool(raw))
    if len(frames) != last - first + 1:
        read["on_error"].setValue("nearest frame")  # a stepped range leaves gaps
    reload_button = getattr(read.knob("reload"), "execute", None)
    if callable(reload_button):
        reload_button()
    inner(group, INNER_SWITCH)["which"].setValue(1)


def show_input(group: nuke.Node) -> None:
    """Show the plate again (the result stays on disk)."""
    inner(group, INNER_SWITCH)["which"].setValue(0)


# -- the farm ------------------------------------------------------------------------------------
class FarmSubmission:
    """A running "Submit to farm" of one node: bundle export, then the Deadline submission."""

    def __init__(self, node_name: str) -> None:
        self.node_name = node_name
        self.thread: Optional[threading.Thread] = None
        self.result: Optional[farm.FarmResult] = None
        self.error: Optional[BaseException] = None
        self.finished = threading.Event()


_submissions: Dict[str, FarmSubmission] = {}


def submission_of(group: nuke.Node) -> Optional[FarmSubmission]:
    """The node's last (or running) Submit to farm."""
    return _submissions.get(group.fullName())


def farm_chunk_size(group: nuke.Node) -> int:
    knob = group.knob(FARM_CHUNK_KNOB)
    return int(knob.value()) if knob is not None else farm.DEFAULT_CHUNK_SIZE  # a node older than the knob


def submit_to_farm(group: nuke.Node, wait: Optional[bool] = None, submit: Union[bool, str] = "auto") -> FarmSubmission:
    """Export ``group``'s shot as a farm bundle (``<output name>.farm/``) and submit it.

    ``submit``: "auto" (submit when the Deadline Cloud CLI is installed and
    configured, else only export and say how to submit), True or False. In the
    GUI this returns at once and the export runs on a thread; with
    ``wait=True`` (default without a GUI) it returns when it is over. Either
    way the outcome is on the node's status line and in ``result``/``error``.
    """
    if not is_focuspull(group):
        raise fc.ClientError("{} is not a FocusPull node".format(group.name()))
    running = submission_of(group)
    if running is not None and not running.finished.is_set():
        raise fc.ClientError("{} is already being submitted to the farm".format(group.name()), code="busy")
    chunk_size = farm_chunk_size(group)
    plan = prepare(group, "exporting the farm bundle...")  # the farm reads EXRs from disk, as the worker does
    submission = FarmSubmission(group.fullName())
    _submissions[submission.node_name] = submission
    if wait is None:
        wait = not nuke.GUI
    if wait:
        _submit(submission, plan, chunk_size, submit, threaded=False)
    else:
        submission.thread = threading.Thread(target=_submit, args=(submission, plan, chunk_size, submit, True),
                                             name="FocusPull farm " + group.name(), daemon=True)
        submission.thread.start()
    return submission


def _submit(submission: FarmSubmission, plan: Plan, chunk_size: int, submit: Union[bool, str], threaded: bool) -> None:
    """Export (and submit) through the worker; it takes seconds to minutes, so it runs off the main thread."""
    try:
        result = farm.submit_to_farm(
            plan.job, plan.job_path, chunk_size=chunk_size, submit=submit, host_prefixes=_host_prefixes(),
            on_status=lambda text: _on_main(threaded, _update_status, submission.node_name, text + "..."))
        submission.result = result
        _on_main(threaded, _farm_done, submission.node_name, result)
    except Exception as err:
        submission.error = err
        _on_main(threaded, _report_failure, submission.node_name, err)
    finally:
        _on_main(threaded, submission.finished.set)


def _farm_done(node_name: str, result: farm.FarmResult) -> None:
    group = _node_by_name(node_name)
    if group is not None:
        set_status(group, farm.status_text(result))
    if nuke.GUI:
        nuke.message(farm.describe_result(result))
    else:
        log.info("%s", farm.describe_result(result))
