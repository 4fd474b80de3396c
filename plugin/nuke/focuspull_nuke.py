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

import logging
import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import nuke

import focuspull_host as fc
from focuspull_host import farm
from focuspull_host import schema as js

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

COMPRESSIONS = ["input", "zip", "zips", "piz", "dwaa", "dwab", "pxr24", "b44", "none"]
# The node's own knobs and the job field each one sets (the generic options are <section>_<field>).
KNOB_KEYS = {
    "engine": "engine.name", "device": "engine.device", "engine_options": "engine.options",
    "depth_source": "depth.source", "depth_kind": "depth.kind", "depth_channel": "depth.channel",
    "focus_mode": "focus.mode", "focus": "focus.value", "strength_mode": "strength.mode",
    "strength": "strength.value", "pixel_type": "output.pixel_type", "compression": "output.compression",
}
CURVE_KNOBS = ("focus", "strength")
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
def option_knobs(schema: Dict[str, Any], name: str) -> List[nuke.Knob]:
    """A knob ``<section>_<field>`` for every option of a job section; curves are animatable."""
    knobs: List[nuke.Knob] = []
    for field, spec, kind in js.option_fields(schema, name):
        knob_name = "{}_{}".format(name, field)
        label = js.label_of(field)
        default = js.field_default(field, spec)
        knob: nuke.Knob
        if kind == "enum":
            values = js.choices(schema, name + "." + field)
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


# -- building the node ------------------------------------------------------------
def current_group() -> nuke.Group:
    """Where a menu command makes its node: the Group whose node graph the artist last clicked in
    (``nuke.lastHitGroup``, Nuke 7+), else the current context (``nuke.thisGroup``)."""
    last_hit = getattr(nuke, "lastHitGroup", None)
    found = last_hit() if callable(last_hit) else None
    return found if isinstance(found, nuke.Group) else nuke.thisGroup()


def create_node() -> nuke.Group:
    """Menu entry: a FocusPull node connected to the selected node, in the Group the artist works in."""
    with current_group():
        return _create_here()


def _create_here() -> nuke.Group:
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
    group.addKnob(nuke.Tab_Knob("focuspull_tab", "FocusPull"))
    marker = nuke.Int_Knob(MARKER_KNOB, "version")
    marker.setValue(VERSION)
    marker.setFlag(nuke.INVISIBLE)
    group.addKnob(marker)

    group.addKnob(_enumeration("engine", "engine", js.choices(schema, "engine.name"), "physical",
                               "physical: layered lens renderer, no weights. neural: Any-to-Bokeh (needs weights)."))
    group.addKnob(_enumeration("device", "device", js.choices(schema, "engine.device"), "auto",
                               "auto: CUDA when present.", newline=False))
    options = nuke.String_Knob("engine_options", "engine options")
    options.setTooltip('Engine options as JSON, e.g. {"planes": 32}. Empty: the engine\'s defaults.')
    group.addKnob(options)

    group.addKnob(nuke.Text_Knob("depth_divider", "depth"))
    group.addKnob(_enumeration("depth_source", "depth from", js.choices(schema, "depth.source"), "channel",
                               "channel: a channel of the plate. estimate: monocular depth estimated from the plate. "
                               "A connected 'depth' input always wins."))
    channel = nuke.String_Knob("depth_channel", "depth channel", "depth.Z")
    channel.setTooltip("Channel of the depth input, or of the plate when the depth input is empty. "
                       "depth.Z also finds an EXR 'Z' channel.")
    group.addKnob(channel)
    group.addKnob(_enumeration("depth_kind", "convention", js.choices(schema, "depth.kind"), "depth",
                               js.field_spec(schema, "depth.kind").get("description", "")))
    for knob in option_knobs(schema, "depth"):
        group.addKnob(knob)

    group.addKnob(nuke.Text_Knob("focus_divider", "focus"))
    modes = js.choices(schema, "focus.mode")
    group.addKnob(_enumeration("focus_mode", "focus mode", modes, "auto",
                               js.field_spec(schema, "focus.mode").get("description", "") +
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
    strength_modes = js.choices(schema, "strength.mode")
    group.addKnob(_enumeration("strength_mode", "strength mode", strength_modes, "k",
                               js.field_spec(schema, "strength.mode").get("description", "")))
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
    pixel_types = js.choices(schema, "output.pixel_type")
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
    path = fc.resolve_path(nuke.filename(node) or "", project_directory())  # relative: from the project directory
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


def knob_samples(knob: nuke.Knob, frames: List[int], index: int = -1) -> Any:
    """A knob's value for the job builder: sampled with getValueAt at every frame when animated
    (Nuke's own curve maths, expressions included), else its value."""
    if knob.isAnimated() or knob.hasExpression():
        if index >= 0:
            return [float(knob.getValueAt(f, index)) for f in frames]
        return [float(knob.getValueAt(f)) for f in frames]
    return float(knob.value() if index < 0 else knob.value(index))


def knob_values(group: nuke.Node, schema: Dict[str, Any], frames: List[int]) -> Dict[str, Any]:
    """Every knob of the node by the job field it sets (what ``fc.build_job`` reads)."""
    values: Dict[str, Any] = {}
    for knob_name, key in KNOB_KEYS.items():
        knob = group.knob(knob_name)
        if knob is not None:
            values[key] = knob_samples(knob, frames) if knob_name in CURVE_KNOBS else knob.value()
    for key, _, kind in js.option_keys(schema):
        knob = group.knob(key.replace(".", "_"))
        if knob is not None:  # None: a node made before this option existed
            values[key] = knob_samples(knob, frames) if kind == "curve" else knob.value()
    point = group.knob("focus_point")
    if point is not None:
        # XY knobs count y up from the bottom of the format, as the job's 'bottom_left' origin.
        values["focus.x"], values["focus.y"] = knob_samples(point, frames, 0), knob_samples(point, frames, 1)
    return values


def project_directory() -> Optional[str]:
    """Where Nuke resolves a relative file path: the root's project directory (evaluated, it is
    often an expression), else the script's folder (what Nuke's default project directory
    ``[python {nuke.script_directory()}]`` gives)."""
    root = nuke.root()
    knob = root.knob("project_directory")
    text = ""
    if knob is not None:
        evaluate = getattr(knob, "evaluate", None)
        text = str(evaluate() if callable(evaluate) else knob.value()).strip()
    if text:
        return text
    script = root.name()
    return os.path.dirname(script) if script and script != "Root" else None


def output_pattern(group: nuke.Node) -> str:
    """The output knob (a relative path taken from the project directory), else next to the
    script, else ~/FocusPull/untitled: never a temporary folder the system cleans."""
    text = str(group["output"].value()).strip()
    if text:
        return fc.resolve_path(text, project_directory()).replace("\\", "/")
    script = nuke.root().name()
    if script and script != "Root":
        base = os.path.join(os.path.dirname(script), "focuspull")
    else:
        base = os.path.join(os.path.expanduser("~"), "FocusPull", "untitled")
    return os.path.join(base, group.name(), group.name() + ".####.exr").replace("\\", "/")


def _knob_value(group: nuke.Node, name: str, default: str) -> str:
    knob = group.knob(name)
    return str(knob.value()) if knob is not None else default


def build_plan(group: nuke.Node) -> Plan:
    """Gather the job from the node (main thread) with the host package's job builder.
    Writes nothing to disk except the internal Writes' settings."""
    if group.input(PLATE_INPUT) is None:
        raise fc.InvalidJob("connect a plate to the 'plate' input")
    schema = fc.load_schema()
    frames = frames_of(group)
    output = output_pattern(group)
    cache_dir = os.path.join(os.path.dirname(output), "_focuspull_input")
    sources = [plan_source(group, PLATE_INPUT, PLATE_WRITE, cache_dir, "plate")]
    depth = matte = None
    if group.input(DEPTH_INPUT) is not None:
        depth = plan_source(group, DEPTH_INPUT, DEPTH_WRITE, cache_dir, "depth")
        sources.append(depth)
    if _knob_value(group, "focus_mode", "auto") == "matte" and group.input(MATTE_INPUT) is not None:
        matte = plan_source(group, MATTE_INPUT, MATTE_WRITE, cache_dir, "matte")
        sources.append(matte)
    inputs = fc.HostInputs(frames, sources[0].pattern, output, knob_values(group, schema, frames),
                           depth=depth.pattern if depth else None, matte=matte.pattern if matte else None)
    return Plan(fc.build_job(inputs, schema), frames, sources, fc.job_path_for(output))


# -- rendering and the farm: one background run each ------------------------------------------------
ACTIONS_RUN = ("render", "farm")
_runs: Dict[Tuple[str, str], fc.BackgroundRun] = {}


def run_of(group: nuke.Node, action: str = "render") -> Optional[fc.BackgroundRun]:
    """The node's last (or running) render or Submit to farm."""
    return _runs.get((group.fullName(), action))


def session_of(group: nuke.Node) -> Optional[fc.BackgroundRun]:
    return run_of(group, "render")


def submission_of(group: nuke.Node) -> Optional[fc.BackgroundRun]:
    return run_of(group, "farm")


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


def install_root(exe_path: str) -> str:
    """Nuke's install folder from ``nuke.EXE_PATH``: the executable's folder, or on macOS the
    application bundle (EXE_PATH is .../NukeX.app/Contents/MacOS/NukeX, the libraries are in
    .../Contents/Frameworks)."""
    marker = ".app/Contents/MacOS/"
    where = exe_path.find(marker)
    if where >= 0:
        return exe_path[: where + len(".app")]
    return os.path.dirname(exe_path)


def _host_prefixes() -> List[str]:
    """Nuke's own install folder: library paths under it are not passed on to the worker."""
    exe = getattr(nuke, "EXE_PATH", "") or ""
    return [install_root(exe)] if exe else []


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
    try:
        set_status(group, fc.status_line(error))
    except Exception:  # the node may have been deleted meanwhile
        pass
    if nuke.GUI:
        nuke.message(text)


def cancel(group: nuke.Node) -> bool:
    """Stop the node's running render or Submit to farm."""
    running = [r for r in (run_of(group, a) for a in ACTIONS_RUN) if r is not None and r.running]
    if not running:
        set_status(group, "nothing to cancel")
        return False
    for run in running:
        run.cancel()
    set_status(group, "cancelling...")
    return True


def prepare(group: nuke.Node, starting: str) -> Plan:
    """The job of ``group`` with its inputs on disk as EXR (main thread): where Render and Submit to farm start."""
    plan = build_plan(group)
    fc.worker_command()  # fail now, on the node, when no worker is configured
    set_status(group, "writing the input to EXR..." if any(s.needs_write for s in plan.sources) else starting)
    render_sources(plan.sources, plan.frames)
    return plan


def farm_chunk_size(group: nuke.Node) -> int:
    knob = group.knob(FARM_CHUNK_KNOB)
    return int(knob.value()) if knob is not None else farm.DEFAULT_CHUNK_SIZE  # a node older than the knob


def start(group: nuke.Node, action: str, wait: Optional[bool] = None, submit: Union[bool, str] = "auto") -> fc.BackgroundRun:
    """Render (``action="render"``) or submit to the farm (``"farm"``) ``group``. In the GUI this
    returns at once and the run goes on a thread with a ``nuke.ProgressTask``; with ``wait=True``
    (default without a GUI) it returns when the run is over. The outcome lands on the node's
    status line and in the run's ``result`` / ``error``."""
    if not is_focuspull(group):
        raise fc.ClientError("{} is not a FocusPull node".format(group.name()))
    running = run_of(group, action)
    if running is not None and running.running:
        doing = "rendering; Cancel it first" if action == "render" else "being submitted to the farm"
        raise fc.ClientError("{} is already {}".format(group.name(), doing), code="busy")
    chunk_size = farm_chunk_size(group)
    plan = prepare(group, "starting..." if action == "render" else "exporting the farm bundle...")
    threaded = not (not nuke.GUI if wait is None else wait)
    name = group.fullName()
    progress: List[Any] = []  # the ProgressTask, made in the run's own thread as Nuke wants

    def on_begin(run: fc.BackgroundRun) -> None:
        if nuke.GUI:
            progress.append(nuke.ProgressTask("FocusPull {}".format(name)))

    def on_event(event: fc.Event) -> None:
        task = progress[0] if progress else None
        text = fc.progress_text(event) + ("..." if event.get("event") == "status" else "")
        fraction = fc.progress_fraction(event)
        if task is not None:
            task.setMessage(text)
            if fraction is not None:
                task.setProgress(int(round(100 * fraction)))
        else:
            log.info("%s: %s", name, text)
        _on_main(threaded, _update_status, name, text)

    def is_cancelled() -> bool:
        return bool(progress) and bool(progress[0].isCancelled())

    def on_finish(run: fc.BackgroundRun) -> None:
        if progress:
            progress[0].setProgress(100)
            del progress[:]  # Nuke closes a ProgressTask when it is deleted
        _on_main(threaded, _finished, name, plan, run)

    run = fc.BackgroundRun(name, plan.job, plan.job_path, action=action, chunk_size=chunk_size, submit=submit,
                           on_event=on_event, on_finish=on_finish, is_cancelled=is_cancelled, on_begin=on_begin,
                           host_prefixes=_host_prefixes(), on_log=lambda line: log.debug("worker: %s", line))
    _runs[(name, action)] = run
    return run.start(wait=not threaded)


def render(group: nuke.Node, wait: Optional[bool] = None) -> fc.BackgroundRun:
    """Render ``group`` and show the result in it (see ``start``)."""
    return start(group, "render", wait)


def submit_to_farm(group: nuke.Node, wait: Optional[bool] = None, submit: Union[bool, str] = "auto") -> fc.BackgroundRun:
    """Export ``group``'s shot as a farm bundle (``<output name>.farm/``) and submit it.

    ``submit``: "auto" (submit when the Deadline Cloud CLI is installed and
    configured, else only export and say how to submit), True or False.
    """
    return start(group, "farm", wait, submit)


def _update_status(node_name: str, text: str) -> None:
    group = _node_by_name(node_name)
    if group is not None:
        set_status(group, text)


def _finished(node_name: str, plan: Plan, run: fc.BackgroundRun) -> None:
    """The end of a run, on the main thread: show the result, or say what went wrong."""
    group = _node_by_name(node_name)
    if group is None:
        if run.error is not None:
            log.error("%s", fc.describe_error(run.error))
        return
    if run.error is not None and not isinstance(run.error, fc.RenderCancelled):
        fail(group, run.error)
        return
    if isinstance(run.result, fc.RenderResult):
        show_output(group, run.result.output_pattern, plan.frames, plan.plate.colorspace, plan.plate.raw)
    set_status(group, run.summary())
    if isinstance(run.result, farm.FarmResult):
        if nuke.GUI:
            nuke.message(farm.describe_result(run.result))
        else:
            log.info("%s", farm.describe_result(run.result))


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
