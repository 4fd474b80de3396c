"""The Fusion side made from the job schema: the FocusPull macro and the Lua list of its controls.

Both hosts make their controls from the shipped job schema, so an option the
core adds shows up in Nuke and in Fusion without host code changes: Nuke at
node creation (``focuspull_nuke.add_knobs``), Fusion here, when the installer
writes ``FocusPull.setting`` and ``focuspull_controls.lua`` from a fresh schema
export. The copies in ``plugin/resolve`` are generated from the shipped schema
(``tests/test_plugin_static.py`` checks it); refresh them with

    python -m focuspull.install.fusion_macro

A control's ID is its job field in CamelCase (``aperture.blades`` ->
``ApertureBlades``) except the few named in ``IDS``; no control is called
``Output``, the ID of the macro's image output.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

SETTING_NAME = "FocusPull.setting"
CONTROLS_NAME = "focuspull_controls.lua"
PAGE = "FocusPull"
HOLDER = "FocusPullPlate"
IDS = {
    "focus.value": "Focus", "strength.value": "Strength", "output.pattern": "OutputFile", "input.frames": "Frames",
    "engine.name": "Engine", "engine.device": "Device", "engine.options": "EngineOptions",
    "output.pixel_type": "PixelType", "output.compression": "Compression", "farm.chunk_size": "FarmChunkSize",
}
RESERVED_IDS = {"Output", "Input", "Render", "Farm", "Cancel", "Status"}
BUTTONS = (("Render", "Render", "FocusPull Render.lua", 0.33,
            "Render the refocused plate out of process and show it in this tool."),
           ("Farm", "Submit to Farm", "FocusPull Submit to Farm.lua", 0.34,
            "Export this shot as a farm job bundle next to the Output (<output name>.farm/) and submit it to AWS "
            "Deadline Cloud when the deadline CLI is installed and configured."),
           ("Cancel", "Cancel", None, 0.33, "Stop the running render (frames already written stay on disk)."))


def host_schema() -> Any:
    """The host package's ``schema`` module (plugin code is not part of the core's import tree)."""
    from focuspull.install.common import load_client

    return load_client().schema


@dataclass(frozen=True)
class Control:
    key: str        # the job field, "section.field" ("farm.chunk_size": a host setting)
    id: str         # the Fusion input ID
    kind: str       # curve | number | int | combo | bool | text | file | host
    label: str
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""


def camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.replace(".", "_").split("_"))


def control_id(key: str) -> str:
    return IDS.get(key) or camel(key)


def controls(schema: dict[str, Any]) -> list[Control]:
    """Every control of the macro, in Inspector order."""
    hs = host_schema()
    out: list[Control] = []

    def spec_of(key: str) -> dict[str, Any]:
        found: dict[str, Any] = hs.field_spec(schema, key)
        return found

    def combo(key: str, label: str, default: str, help: str = "") -> None:
        options = tuple(hs.choices(schema, key))
        out.append(Control(key, control_id(key), "combo", label, options.index(default) if default in options else 0,
                           options, help=help or spec_of(key).get("description", "")))

    def generic(section: str) -> None:
        for key, spec, kind in hs.option_keys(schema):
            if not key.startswith(section + "."):
                continue
            field = key.split(".", 1)[1]
            default = hs.field_default(field, spec)
            label = hs.label_of(field).capitalize()
            help = spec.get("description", "")
            if kind == "enum":
                combo(key, label, str(default), help)
            elif kind in ("curve", "float", "int"):
                if default is None:
                    help = (help + " 0: not set.").strip()
                high = spec.get("maximum", max(1.0, 4.0 * float(default or 0.0)))
                out.append(Control(key, control_id(key), {"float": "number"}.get(kind, kind), label,
                                   default or 0, minimum=spec.get("minimum", 0.0), maximum=high, help=help))
            elif kind == "bool":
                out.append(Control(key, control_id(key), "bool", label, 1 if default else 0, help=help))
            else:
                out.append(Control(key, control_id(key), "file" if field.endswith("_path") else "text", label,
                                   default or "", help=help))

    combo("depth.source", "Depth From", "channel",
          "channel: Depth Channel of the plate. estimate: monocular depth estimated from the plate. A connected "
          "Depth input always wins.")
    combo("depth.kind", "Depth Convention", "depth")
    out.append(Control("depth.channel", "DepthChannel", "text", "Depth Channel", "",
                       help="Channel of the depth (e.g. Z). Empty: Z or depth.Z of the plate, the first channel of "
                            "the Depth input."))
    generic("depth")
    combo("focus.mode", "Focus Mode", "auto",
          "point: the depth under Focus X/Y (pixels from the bottom left), every frame. matte: the median depth "
          "inside the Matte input.")
    out.append(Control("focus.value", "Focus", "curve", "Focus", 2.0, minimum=0.0, maximum=20.0,
                       help="Focus distance (scene units) for depth, or disparity. Keyframe it for a focus pull."))
    out.append(Control("focus.x", "FocusX", "curve", "Focus X", 0.0, minimum=0.0, maximum=4096.0,
                       help="Focus mode point: x in pixels from the left. Animate it to follow a subject."))
    out.append(Control("focus.y", "FocusY", "curve", "Focus Y", 0.0, minimum=0.0, maximum=2160.0,
                       help="Focus mode point: y in pixels from the bottom."))
    generic("focus")
    combo("strength.mode", "Strength Mode", "k")
    out.append(Control("strength.value", "Strength", "curve", "Strength", 10.0, minimum=0.0, maximum=100.0,
                       help="k: K, blur radius in plate pixels = K * |d - d_focus|. max_blur: the largest blur "
                            "radius in pixels. Keyframeable."))
    generic("strength")
    generic("aperture")
    combo("engine.name", "Engine", "physical", "physical: layered lens renderer, no weights. neural: Any-to-Bokeh.")
    combo("engine.device", "Device", "auto", "auto: CUDA when present.")
    out.append(Control("engine.options", "EngineOptions", "text", "Engine Options", "",
                       help='Engine options as JSON, e.g. {"planes": 32}. Empty: the engine\'s defaults.'))
    out.append(Control("output.pattern", "OutputFile", "file", "Output", "",
                       help="Output frames, e.g. /shots/sh010/refocus.####.exr. Empty: next to the comp, else "
                            "next to the plate, else ~/FocusPull/<comp name>."))
    combo("output.pixel_type", "Pixel Type", "half")
    out.append(Control("output.compression", "Compression", "text", "Compression", "",
                       help="EXR compression (zip, piz, dwaa, ...). Empty: the plate's."))
    out.append(Control("input.frames", "Frames", "text", "Frames", "",
                       help="e.g. 1001-1100 or 1001,1005. Empty: the comp's render range."))
    out.append(Control("farm.chunk_size", "FarmChunkSize", "host", "Frames Per Farm Task", 10, minimum=1, maximum=100,
                       help="Submit to Farm: frames per farm task. Every task pays a few seconds of start-up, and "
                            "the neural engine renders 8 context frames per task: larger chunks waste less, smaller "
                            "ones spread the shot over more machines."))
    ids = [c.id for c in out]
    clash = sorted({i for i in ids if ids.count(i) > 1} | (set(ids) & RESERVED_IDS))
    if clash:
        raise ValueError(f"Fusion control IDs must be unique and not {sorted(RESERVED_IDS)}: {clash}")
    return out


def _lua(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) and not float(value).is_integer() else str(int(value))
    return json.dumps(str(value))  # a JSON string is a valid Lua string literal for this text


def _user_control(c: Control) -> str:
    fields: list[str] = []
    if c.kind == "combo":
        fields.append(" ".join("{ CCS_AddString = %s, }," % _lua(o) for o in c.choices))
    fields.append(f"LINKS_Name = {_lua(c.label)}, ICS_ControlPage = {_lua(PAGE)},")
    if c.kind == "combo":
        fields.append(f'LINKID_DataType = "Number", INPID_InputControl = "ComboControl", INP_Default = {_lua(c.default)}, '
                      'INP_Integer = true, CC_LabelPosition = "Horizontal",')
    elif c.kind == "bool":
        fields.append(f'LINKID_DataType = "Number", INPID_InputControl = "CheckboxControl", INP_Default = {_lua(c.default)}, '
                      "INP_Integer = true,")
    elif c.kind in ("curve", "number", "int", "host"):
        integer = " INP_Integer = true," if c.kind in ("int", "host") else ""
        passive = " INP_Passive = true," if c.kind == "host" else ""  # not an image parameter: no re-render
        fields.append(f'LINKID_DataType = "Number", INPID_InputControl = "SliderControl", INP_Default = {_lua(c.default)}, '
                      f"INP_MinScale = {_lua(c.minimum or 0)}, INP_MaxScale = {_lua(c.maximum or 1)}, "
                      f"INP_MinAllowed = {_lua(c.minimum or 0)},{integer}{passive}")
    elif c.kind == "file":
        saver = "true" if c.key == "output.pattern" else "false"
        fields.append(f'LINKID_DataType = "Text", INPID_InputControl = "FileControl", FC_IsSaver = {saver}, '
                      "FC_ClipBrowse = false, INP_Passive = true,")
    else:
        fields.append('LINKID_DataType = "Text", INPID_InputControl = "TextEditControl", TEC_Lines = 1, '
                      f"INPS_DefaultText = {_lua(c.default or '')}, INP_Passive = true,")
    if c.help:
        fields.append(f"INPS_HelpText = {_lua(c.help)},")
    return "\t\t\t\t\t\t%s = {\n%s\n\t\t\t\t\t\t}," % (c.id, "\n".join("\t\t\t\t\t\t\t" + f for f in fields))


def _button(button_id: str, label: str, script: str | None, width: float, help: str) -> str:
    if script is None:
        execute = 'comp:SetData("FocusPull.Cancel", true)'
    else:
        execute = ('local t = tool; if t and t.ParentTool then t = t.ParentTool end; '
                   'if t then comp:SetData("FocusPull.Target", t.Name) end; '
                   f'comp:RunScript(fusion:MapPath("Scripts:Comp/FocusPull/{script}"))')
    return ("\t\t\t\t\t\t%s = {\n\t\t\t\t\t\t\tLINKS_Name = %s, LINKID_DataType = \"Number\", INPID_InputControl = "
            "\"ButtonControl\", INP_External = false, INP_DoNotifyChanged = false, ICS_ControlPage = %s, "
            "ICD_Width = %s,\n\t\t\t\t\t\t\tINPS_HelpText = %s,\n\t\t\t\t\t\t\tBTNCS_Execute = %s,\n\t\t\t\t\t\t},"
            % (button_id, _lua(label), _lua(PAGE), width, _lua(help), _lua(execute)))


def setting_text(schema: dict[str, Any]) -> str:
    """``FocusPull.setting``: the macro, its controls made from ``schema``."""
    items = controls(schema)
    instance = ["\t\t\t\tMainInput1 = InstanceInput { SourceOp = \"FocusPullPlate\", Source = \"Input\", Name = \"Plate\", },",
                "\t\t\t\tMainInput2 = InstanceInput { SourceOp = \"FocusPullDepth\", Source = \"Input\", Name = \"Depth\", },",
                "\t\t\t\tMainInput3 = InstanceInput { SourceOp = \"FocusPullMatte\", Source = \"Input\", Name = \"Matte\", },"]
    for c in items:
        default = "" if c.kind in ("text", "file") else f" Default = {_lua(c.default)},"
        instance.append(f'\t\t\t\t{c.id} = InstanceInput {{ SourceOp = "{HOLDER}", Source = "{c.id}",{default} }},')
    for button_id, _, _, width, _ in BUTTONS:
        instance.append(f'\t\t\t\t{button_id} = InstanceInput {{ SourceOp = "{HOLDER}", Source = "{button_id}", Width = {width}, }},')
    instance.append(f'\t\t\t\tStatus = InstanceInput {{ SourceOp = "{HOLDER}", Source = "Status", }},')
    user = [_user_control(c) for c in items] + [_button(*b) for b in BUTTONS]
    user.append("\t\t\t\t\t\tStatus = {\n\t\t\t\t\t\t\tLINKS_Name = \"Status\", LINKID_DataType = \"Text\", "
                "INPID_InputControl = \"TextEditControl\", TEC_Lines = 2, TEC_ReadOnly = true, INP_External = false,\n"
                "\t\t\t\t\t\t\tINP_Passive = true, INPS_DefaultText = \"idle\", ICS_ControlPage = \"FocusPull\",\n"
                "\t\t\t\t\t\t\tINPS_HelpText = \"What the last Render or Submit to Farm did. Passive: updating it "
                "does not re-render the comp.\",\n\t\t\t\t\t\t},")
    return SETTING_TEMPLATE.format(instance="\n".join(instance), user="\n".join(user))


SETTING_TEMPLATE = """-- Generated from the focuspull job schema by `python -m focuspull.install.fusion_macro`; do not edit.
{{
	Tools = ordered() {{
		FocusPull = MacroOperator {{
			CtrlWZoom = false,
			NameSet = true,
			CustomData = {{
				FocusPull = {{ Version = 2, }},
				HelpPage = "https://focuspull.dev/docs/resolve",
			}},
			Inputs = ordered() {{
{instance}
			}},
			Outputs = {{
				MainOutput1 = InstanceOutput {{ SourceOp = "FocusPullSwitch", Source = "Output", }},
			}},
			ViewInfo = GroupInfo {{ Pos = {{ 0, 0 }}, }},
			Tools = ordered() {{
				FocusPullPlate = PipeRouter {{
					CtrlWShown = false,
					ViewInfo = PipeRouterInfo {{ Pos = {{ -110, 0 }}, }},
					UserControls = ordered() {{
{user}
					}},
				}},
				FocusPullDepth = PipeRouter {{
					CtrlWShown = false,
					ViewInfo = PipeRouterInfo {{ Pos = {{ -110, 66 }}, }},
				}},
				FocusPullMatte = PipeRouter {{
					CtrlWShown = false,
					ViewInfo = PipeRouterInfo {{ Pos = {{ -110, 132 }}, }},
				}},
				FocusPullResult = Loader {{
					CtrlWZoom = false,
					ViewInfo = OperatorInfo {{ Pos = {{ 0, 33 }}, }},
				}},
				FocusPullSwitch = Dissolve {{
					Transitions = {{ [0] = "DFTDissolve", }},
					CtrlWShown = false,
					Inputs = {{
						Mix = Input {{ Value = 0, }},
						Background = Input {{ SourceOp = "FocusPullPlate", Source = "Output", }},
						Foreground = Input {{ SourceOp = "FocusPullResult", Source = "Output", }},
					}},
					ViewInfo = OperatorInfo {{ Pos = {{ 110, 0 }}, }},
				}},
			}},
		}},
	}},
	ActiveTool = "FocusPull",
}}
"""


def controls_lua(schema: dict[str, Any]) -> str:
    """``focuspull_controls.lua``: what the Lua side samples, ``{ id, key, kind }`` per control."""
    lines = ["-- Generated from the focuspull job schema by `python -m focuspull.install.fusion_macro`; do not edit.",
             "-- The FocusPull macro's controls: Fusion input ID, job field, and how the Lua side reads it",
             "-- (curve: sampled at every frame; host: read by the Lua side itself, not sent).",
             "return {"]
    for c in controls(schema):
        kind = {"int": "number", "file": "text"}.get(c.kind, c.kind)
        lines.append(f'  {{ id = "{c.id}", key = "{c.key}", kind = "{kind}" }},')
    lines.append("}")
    return "\n".join(lines) + "\n"


def generated(schema: dict[str, Any]) -> dict[str, str]:
    return {SETTING_NAME: setting_text(schema), CONTROLS_NAME: controls_lua(schema)}


def main() -> int:
    from focuspull.install.common import plugin_root
    from focuspull.job import schema

    for name, text in generated(schema()).items():
        path = plugin_root() / "resolve" / name
        path.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
