"""The FocusPull node for Nuke: the Group, its knobs made from the job schema, its buttons.

The Group has three inputs (``plate``, an optional ``depth`` and ``matte``)
and, inside, an internal Write per input (for inputs that must be written to
EXR first), a Read that shows the rendered frames and a Switch. Every option
of the job schema gets a knob (``<section>_<field>``), so an option the core
adds shows up without code here. ``focuspull_nuke`` renders it.

Buttons: ``ACTIONS`` lists the row of buttons (Render, Submit to farm,
Cancel); more are added with ``register_action`` before nodes are created, and
existing nodes get them through ``ensure_actions``.
"""

from typing import Any, Dict, List, Optional

import nuke

import focuspull_host as fc
from focuspull_host import farm
from focuspull_host import schema as js

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
