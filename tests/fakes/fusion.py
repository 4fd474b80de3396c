"""A fake of the parts of Fusion's scripting API the FocusPull scripts use.

Each behaviour cites where it comes from:

* [Guide] Fusion 8 Scripting Guide and Reference Manual (Blackmagic, 2016),
  Composition.AddTool / Render / MapPath, Operator.GetInput / SetInput;
* [VFXPedia] eyeon Script Reference, Composition:Render (the settings table:
  Start, End, Tool, Wait, Quiet ...), Loader attributes (TOOLIT_Clip_StartFrame);
* [AYON] the Fusion integration of AYON/OpenPype (``load_sequence.py``:
  ``loader_shift``, ``preserve_trim`` and the ``update`` docstring), a working
  public integration documenting how a Loader reacts to Clip, GlobalIn and
  GlobalOut changes;
* [SDK] the Fusion plug-in SDK's input IDs (``INID_MissingFrames``).

Modelled on the Fusion scripting reference (Composition, Operator, Input,
Output, Loader/Saver attributes) and its Python binding's habits:

* Lua tables come back as dicts keyed 1.0, 2.0, ... (``GetToolList``,
  ``GetChildrenList``, ``TOOLST_Clip_Name``);
* ``GetInput(name, time)`` evaluates animated inputs (linear between keys,
  held outside) and returns None for an input the tool does not have;
  ``SetInput`` on an unknown input returns False;
* a macro is loaded from its real ``.setting`` file (parsed here), so the
  macro's instance inputs, its inner tools and their defaults are the ones an
  artist gets; inner tools get Fusion's ``Name_1`` suffix when the name is taken;
* adding a Saver or Loader to an unlocked comp would open a file dialog, which
  blocks a script: the fake raises instead;
* ``Render`` calls ``render_hook(saver, time)`` for every frame of the given Saver;
  it returns True, or None (nil in Lua) when a frame fails [Guide: "Returns
  success"; the Python binding maps a failed render to None]; without
  ``Quiet`` it would show a "Render Completed" dialog (recorded in ``dialogs``)
  [VFXPedia];
* a Loader's sequence starts at its lowest frame on disk, whichever file was
  picked (``TOOLIT_Clip_StartFrame``) [VFXPedia]; setting ``Clip`` resets the
  trims and holds, and Global In to the comp's global start when the length
  changes [AYON]; moving Global In or Out moves the trim with it so the
  picture stays put (Hold First/Last Frame take what the trim cannot), and
  neither may pass the other [AYON]; ``MissingFrames`` 0 = Fail, 1 = Hold
  Previous [SDK, Loader Import tab];
* ``MapPath`` expands path maps (``Comp:``, ``Temp:``, a studio's own) [Guide];
* ``AddTool(id, defsettings, x, y)`` at x = y = -32768 connects the new tool to
  the active one, as a click on the toolbar does [Guide];
* a tool's input and output IDs are unique: a macro whose user control uses the
  ID of an output (``Output``) is rejected; setting a non-passive input
  invalidates the tool (counted in ``invalidations``) [Guide, INP_Passive].
"""

from __future__ import annotations

import glob
import os
import re
from typing import Any, Callable, Optional

# -- .setting files (Lua tables) ---------------------------------------------------
class LuaTable:
    """A Lua table constructor: ``Type { name = value, positional, ... }``."""

    def __init__(self, type_name: Optional[str] = None) -> None:
        self.type = type_name
        self.fields: dict[Any, Any] = {}
        self.array: list[Any] = []

    def get(self, key: Any, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def __getitem__(self, key: Any) -> Any:
        return self.fields[key]

    def __contains__(self, key: Any) -> bool:
        return key in self.fields

    def __repr__(self) -> str:
        return f"LuaTable({self.type!r}, {list(self.fields)}, {len(self.array)} items)"


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>--[^\n]*)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[{}\[\]=,;()])
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"setting: cannot parse at {text[pos:pos + 40]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind != "comment":
            out.append((kind, m.group(kind)))
    return out


def parse_setting(text: str) -> LuaTable:
    tokens = _tokens(text)
    pos = 0

    def peek(offset: int = 0) -> tuple[str, str]:
        return tokens[pos + offset] if pos + offset < len(tokens) else ("eof", "")

    def take(value: Optional[str] = None) -> tuple[str, str]:
        nonlocal pos
        tok = peek()
        if value is not None and tok[1] != value:
            raise ValueError(f"setting: expected {value!r}, got {tok[1]!r} (token {pos})")
        pos += 1
        return tok

    def value() -> Any:
        kind, text_ = peek()
        if kind == "string":
            take()
            return bytes(text_[1:-1], "utf-8").decode("unicode_escape")
        if kind == "number":
            take()
            number = float(text_)
            return int(number) if number.is_integer() and "." not in text_ else number
        if kind == "name":
            take()
            if text_ in ("true", "false"):
                return text_ == "true"
            if text_ == "nil":
                return None
            if peek()[1] == "(":  # ordered() and friends
                take("(")
                take(")")
                return table(None)
            return table(text_)
        if text_ == "{":
            return table(None)
        raise ValueError(f"setting: unexpected {text_!r}")

    def table(type_name: Optional[str]) -> LuaTable:
        out = LuaTable(type_name)
        take("{")
        while peek()[1] != "}":
            if peek()[1] == "[":
                take("[")
                key = value()
                take("]")
                take("=")
                out.fields[key] = value()
            elif peek()[0] == "name" and peek(1)[1] == "=":
                key = take()[1]
                take("=")
                out.fields[key] = value()
            else:
                out.array.append(value())
            if peek()[1] in (",", ";"):
                take()
        take("}")
        return out

    result = value()
    if pos != len(tokens):
        raise ValueError(f"setting: trailing tokens from {tokens[pos]}")
    return result


# -- the object model -------------------------------------------------------------
def _lua_list(items: list[Any]) -> dict[float, Any]:
    return {float(i): item for i, item in enumerate(items, 1)}


class Output:
    def __init__(self, tool: "Tool", name: str = "Output") -> None:
        self.tool, self.name = tool, name

    def GetTool(self) -> "Tool":
        return self.tool


class Input:
    def __init__(self, tool: "Tool", name: str) -> None:
        self.tool, self.name = tool, name

    def GetConnectedOutput(self) -> Optional[Output]:
        return self.tool._connections.get(self.name)

    def GetKeyFrames(self) -> dict[float, float]:
        return _lua_list(sorted(self.tool._keys.get(self.name, {})))

    def ConnectTo(self, output: Optional[Output] = None) -> bool:
        return self.tool.ConnectInput(self.name, output)


_BUILTIN_INPUTS: dict[str, dict[str, Any]] = {
    "Loader": {"Clip": "", "GlobalIn": 0, "GlobalOut": 0, "ClipTimeStart": 0, "ClipTimeEnd": 0, "Reverse": 0,
               "Loop": 0, "HoldFirstFrame": 0, "HoldLastFrame": 0, "MissingFrames": 0},
    "Saver": {"Clip": "", "OutputFormat": "OpenEXRFormat", "CreateDir": 1},
    "PipeRouter": {},
    "Dissolve": {"Mix": 0.0},
    "Blur": {"XBlurSize": 1.0},
    "MediaIn": {},
}
_OUTPUTS = {"PipeRouter": ("Output",), "Loader": ("Output",), "Dissolve": ("Output",)}
_IMAGE_INPUTS = {"Loader": [], "Saver": ["Input"], "PipeRouter": ["Input"], "Dissolve": ["Background", "Foreground"],
                 "Blur": ["Input"], "MediaIn": [], "MacroOperator": []}


class Tool:
    def __init__(self, comp: "Composition", reg_id: str, name: str) -> None:
        self.comp = comp
        self.ID = reg_id
        self.Name = name
        self._values: dict[str, Any] = dict(_BUILTIN_INPUTS.get(reg_id, {}))
        self._keys: dict[str, dict[float, float]] = {}
        self._connections: dict[str, Optional[Output]] = {}
        self._image_inputs = list(_IMAGE_INPUTS.get(reg_id, ["Input"]))
        self._data: dict[str, Any] = {}
        self.ParentTool: Optional[Tool] = None
        self._children: list[Tool] = []
        self.selected = False
        self.deleted = False
        self.Output = Output(self)
        self._passive: set[str] = set()
        self.invalidations = 0

    # -- inputs --------------------------------------------------------------------
    def _has_input(self, name: str) -> bool:
        return name in self._values or name in self._image_inputs

    def GetInput(self, name: str, time: Optional[float] = None) -> Any:
        if not self._has_input(name):
            return None
        keys = self._keys.get(name)
        if keys:
            t = self.comp.CurrentTime if time is None else float(time)
            frames = sorted(keys)
            if t <= frames[0]:
                return keys[frames[0]]
            if t >= frames[-1]:
                return keys[frames[-1]]
            i = max(k for k in range(len(frames)) if frames[k] <= t)
            f0, f1 = frames[i], frames[i + 1]
            return keys[f0] + (t - f0) / (f1 - f0) * (keys[f1] - keys[f0])
        return self._values.get(name)

    def SetInput(self, name: str, value: Any, time: Optional[float] = None) -> bool:
        if not self._has_input(name):
            return False
        if name not in self._passive:
            self.invalidations += 1  # [Guide] a non-passive input re-renders the tool and what follows
        if time is not None and name in self._keys:
            self._keys[name][float(time)] = float(value)
        elif self.ID == "Loader" and name in ("GlobalIn", "GlobalOut"):
            self._move_global(name, int(round(float(value))))
        else:
            self._values[name] = value
            if name == "Clip" and self.ID == "Loader":
                self._scan_clip()
        return True

    def animate(self, name: str, keys: dict[float, float]) -> None:
        """Fake: keyframe an input (Fusion: a BezierSpline modifier)."""
        assert self._has_input(name), name
        self._keys[name] = {float(t): float(v) for t, v in keys.items()}

    def ConnectInput(self, name: str, target: Any) -> bool:
        if name not in self._image_inputs:
            return False
        output = target.Output if isinstance(target, Tool) else target
        self._connections[name] = output
        return True

    def FindMainInput(self, index: int) -> Optional[Input]:
        if 1 <= index <= len(self._image_inputs):
            return Input(self, self._image_inputs[index - 1])
        return None

    def __getattr__(self, name: str) -> Input:
        if name.startswith("_") or not self._has_input(name):
            raise AttributeError(name)
        return Input(self, name)

    # -- attributes, data, graph --------------------------------------------------------
    def GetAttrs(self, name: Optional[str] = None) -> Any:
        attrs: dict[str, Any] = {"TOOLS_Name": self.Name, "TOOLS_RegID": self.ID, "TOOLB_Selected": self.selected}
        if self.ID == "Loader" and self._values.get("Clip"):
            attrs.update(self._clip_attrs())
        return attrs if name is None else attrs.get(name)

    def GetData(self, name: Optional[str] = None) -> Any:
        return _get_data(self._data, name)

    def SetData(self, name: str, value: Any) -> None:
        _set_data(self._data, name, value)

    def GetChildrenList(self, selected: bool = False, regid: Optional[str] = None) -> dict[float, "Tool"]:
        return _lua_list([c for c in self._children if regid is None or c.ID == regid])

    def Delete(self) -> None:
        self.deleted = True
        self.comp._tools = [t for t in self.comp._tools if t is not self]

    # -- Loader behaviour ------------------------------------------------------------------
    def _sequence(self) -> tuple[str, list[int], int]:
        """(picked clip, every frame number of its sequence on disk, padding)."""
        clip = self.comp.MapPath(str(self._values.get("Clip") or ""))
        m = re.match(r"^(.*?)(\d+)(\.[A-Za-z0-9]+)$", clip)
        if m is None:
            return clip, [], 0
        head, digits, tail = m.groups()
        found = []
        for path in glob.glob(glob.escape(head) + "[0-9]" * len(digits) + glob.escape(tail)):
            found.append(int(path[len(head):len(path) - len(tail)]))
        return clip, sorted(found), len(digits)

    def _length(self) -> int:
        _, frames, _ = self._sequence()
        return frames[-1] - frames[0] + 1 if frames else 1  # gaps count: the Loader's MissingFrames handles them

    def _scan_clip(self) -> None:
        """[AYON] a new clip: trims and holds reset; a new length puts Global In at the comp's global start."""
        length = self._length()
        old_length = self._values.get("_length")
        if old_length is not None and old_length != length:
            self._values["GlobalIn"] = int(self.comp._attrs["COMPN_GlobalStart"])
        start = int(self._values.get("GlobalIn") or 0)
        self._values.update(GlobalOut=start + length - 1, ClipTimeStart=0, ClipTimeEnd=length - 1,
                            HoldFirstFrame=0, HoldLastFrame=0, _length=length)

    def _move_global(self, name: str, value: int) -> None:
        """[AYON] Global In/Out cannot pass each other; moving one moves its trim (or hold) with it."""
        v = self._values
        if name == "GlobalIn":
            value = min(value, int(v["GlobalOut"]))
            delta = value - int(v["GlobalIn"])
            net = int(v["ClipTimeStart"]) - int(v["HoldFirstFrame"]) + delta  # < 0: frames held before the clip
            v["ClipTimeStart"], v["HoldFirstFrame"] = max(0, net), max(0, -net)
            v["GlobalIn"] = value
        else:
            value = max(value, int(v["GlobalIn"]))
            delta = value - int(v["GlobalOut"])
            last = int(v.get("_length", 1)) - 1
            net = int(v["ClipTimeEnd"]) + int(v["HoldLastFrame"]) + delta  # > last: frames held after the clip
            v["ClipTimeEnd"], v["HoldLastFrame"] = min(last, max(net, 0)), max(0, net - last)
            v["GlobalOut"] = value

    def place(self, global_in: int) -> None:
        """Fake: what dragging the clip in the Keyframes view does: the whole clip moves, trims kept."""
        v = self._values
        shift = int(global_in) - int(v["GlobalIn"])
        v["GlobalIn"], v["GlobalOut"] = int(v["GlobalIn"]) + shift, int(v["GlobalOut"]) + shift

    def _clip_attrs(self) -> dict[str, Any]:
        clip, frames, _ = self._sequence()
        return {"TOOLST_Clip_Name": _lua_list([self._values.get("Clip")]),
                "TOOLIT_Clip_StartFrame": _lua_list([frames[0] if frames else 0]),
                "TOOLIT_Clip_Length": _lua_list([self._length()]),
                "TOOLNT_Clip_Start": _lua_list([self._values["GlobalIn"]]),
                "TOOLNT_Clip_End": _lua_list([self._values["GlobalOut"]])}

    def file_for_time(self, t: float) -> Optional[str]:
        """Fake: the file a Loader shows at comp time t (None outside its range); a missing file is an
        error unless MissingFrames holds the previous one [SDK]."""
        v = self._values
        if not (v["GlobalIn"] <= t <= v["GlobalOut"]):
            return None
        clip, frames, padding = self._sequence()
        m = re.match(r"^(.*?)(\d+)(\.[A-Za-z0-9]+)$", clip)
        assert m is not None and frames
        index = int(t - v["GlobalIn"]) - int(v["HoldFirstFrame"])
        index = min(max(index + int(v["ClipTimeStart"]), int(v["ClipTimeStart"])), int(v["ClipTimeEnd"]))
        frame = frames[0] + index
        while frame not in frames:
            if int(v["MissingFrames"]) != 1:
                raise RuntimeError(f"fake Fusion: Loader {self.Name}: frame {frame} is missing (Missing Frames: Fail)")
            frame -= 1
        return f"{m.group(1)}{frame:0{padding}d}{m.group(3)}"


class Macro(Tool):
    """A MacroOperator instance: its inputs are instances of its inner tools' inputs."""

    def __init__(self, comp: "Composition", name: str) -> None:
        super().__init__(comp, "MacroOperator", name)
        self._instances: dict[str, tuple[Tool, str]] = {}
        self._main_inputs: list[tuple[Tool, str]] = []

    def _has_input(self, name: str) -> bool:
        return name in self._instances

    def GetInput(self, name: str, time: Optional[float] = None) -> Any:
        if name not in self._instances:
            return None
        tool, source = self._instances[name]
        return tool.GetInput(source, time)

    def SetInput(self, name: str, value: Any, time: Optional[float] = None) -> bool:
        if name not in self._instances:
            return False
        tool, source = self._instances[name]
        return tool.SetInput(source, value, time)

    def animate(self, name: str, keys: dict[float, float]) -> None:
        tool, source = self._instances[name]
        tool.animate(source, keys)

    def ConnectInput(self, name: str, target: Any) -> bool:
        if name.startswith("MainInput"):
            tool, source = self._main_inputs[int(name[len("MainInput"):]) - 1]
            return tool.ConnectInput(source, target)
        return False

    def FindMainInput(self, index: int) -> Optional[Input]:
        if 1 <= index <= len(self._main_inputs):
            tool, source = self._main_inputs[index - 1]
            return Input(tool, source)
        return None


def _get_data(store: dict[str, Any], name: Optional[str]) -> Any:
    if name is None:
        return dict(store)
    node: Any = store
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set_data(store: dict[str, Any], name: str, value: Any) -> None:
    parts = name.split(".")
    node = store
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


class Composition:
    def __init__(self, render_start: int = 1001, render_end: int = 1003, filename: str = "",
                 global_start: Optional[int] = None, name: str = "Composition1") -> None:
        self._tools: list[Tool] = []
        self._attrs = {"COMPN_RenderStart": float(render_start), "COMPN_RenderEnd": float(render_end),
                       "COMPN_GlobalStart": float(render_start if global_start is None else global_start),
                       "COMPN_GlobalEnd": float(render_end), "COMPS_FileName": filename, "COMPS_Name": name}
        #: fake: path maps, e.g. {"Footage:": "/mnt/footage/"} [Guide: MapPath expands path mappings]
        self.path_maps: dict[str, str] = {}
        #: fake: dialogs a render would have shown (a modal dialog blocks a script in Fusion)
        self.dialogs: list[str] = []
        #: fake: make Render fail (a Saver that cannot write)
        self.fail_render = False
        self.CurrentTime = float(render_start)
        self.ActiveTool: Optional[Tool] = None
        self._data: dict[str, Any] = {}
        self._locked = 0
        self.undo: list[str] = []
        self.renders: list[dict[str, Any]] = []
        #: fake: ``render_hook(saver, time)`` writes the Saver's file for that comp time
        self.render_hook: Optional[Callable[[Tool, float], None]] = None
        #: fake: called on every GetData poll (tests use it to press Cancel mid-render)
        self.on_poll: Optional[Callable[["Composition"], None]] = None

    # -- tools -------------------------------------------------------------------------
    def _unique(self, base: str) -> str:
        taken = {t.Name for t in self._all_tools()}
        if base not in taken:
            return base
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def _all_tools(self) -> list[Tool]:
        out = []
        for t in self._tools:
            out.append(t)
            out.extend(t._children)
        return out

    def AddTool(self, reg_id: str, defsettings: Any = False, xpos: int = -32768, ypos: int = -32768) -> Tool:
        """[Guide] AddTool(id, [defsettings], [xpos], [ypos]); at -32768, -32768 the tool is added as a
        toolbar click adds it: connected to the active tool when it can be."""
        if reg_id in ("Saver", "Loader") and not self._locked:
            raise RuntimeError("fake Fusion: adding a Saver/Loader to an unlocked comp opens a file dialog")
        base = {"Saver": "Saver", "Loader": "Loader"}.get(reg_id, reg_id)
        tool = Tool(self, reg_id, self._unique(base + "1"))
        self._tools.append(tool)
        if xpos == -32768 and ypos == -32768 and self.ActiveTool is not None and tool._image_inputs:
            tool.ConnectInput(tool._image_inputs[0], self.ActiveTool)
        return tool

    def FindTool(self, name: str) -> Optional[Tool]:
        return next((t for t in self._all_tools() if t.Name == name), None)

    def GetToolList(self, selected: bool = False, regid: Optional[str] = None) -> dict[float, Tool]:
        tools = [t for t in self._tools if (not selected or t.selected) and (regid is None or t.ID == regid)]
        return _lua_list(tools)

    def SetActiveTool(self, tool: Optional[Tool]) -> None:
        self.ActiveTool = tool

    def load_setting(self, path: str) -> Tool:
        """Fake: what Add Tool > Macros > <name> does with a .setting file."""
        with open(path, encoding="utf-8") as f:
            root = parse_setting(f.read())
        (macro_name, spec), = root["Tools"].fields.items()
        assert spec.type == "MacroOperator", spec.type
        macro = Macro(self, self._unique(macro_name))
        inner: dict[str, Tool] = {}
        for name, tool_spec in spec["Tools"].fields.items():
            tool = Tool(self, tool_spec.type, self._unique(name))
            tool.ParentTool = macro
            for control, cspec in (tool_spec.get("UserControls") or LuaTable()).fields.items():
                kind = cspec.get("INPID_InputControl")
                default = cspec.get("INP_Default", cspec.get("INPS_DefaultText", "" if cspec.get("LINKID_DataType") == "Text" else 0))
                if control in _OUTPUTS.get(tool_spec.type, ("Output",)):
                    raise ValueError(f"fake Fusion: {name}: user control ID {control!r} is also an output ID")
                tool._values[control] = None if kind == "ButtonControl" else default
                if cspec.get("INP_Passive"):
                    tool._passive.add(control)
                if kind == "ComboControl":
                    tool._data.setdefault("_combo", {})[control] = [o["CCS_AddString"] for o in cspec.array]
            macro._children.append(tool)
            inner[name] = tool
        for name, tool_spec in spec["Tools"].fields.items():
            for input_name, ispec in (tool_spec.get("Inputs") or LuaTable()).fields.items():
                if "SourceOp" in ispec:
                    inner[name].ConnectInput(input_name, inner[ispec["SourceOp"]])
                elif "Value" in ispec:
                    inner[name]._values[input_name] = ispec["Value"]
        for name, ispec in spec["Inputs"].fields.items():
            tool = inner[ispec["SourceOp"]]
            source = ispec["Source"]
            assert tool._has_input(source), f"{name}: {ispec['SourceOp']} has no input {source}"
            if name.startswith("MainInput"):
                macro._main_inputs.append((tool, source))
                continue
            macro._instances[name] = (tool, source)
            if "Default" in ispec:
                tool._values[source] = ispec["Default"]
        (out_spec,) = spec["Outputs"].fields.values()
        macro._output_tool = inner[out_spec["SourceOp"]]
        self._tools.append(macro)
        return macro

    # -- attributes and data ---------------------------------------------------------------
    def GetAttrs(self, name: Optional[str] = None) -> Any:
        attrs = dict(self._attrs, COMPB_Locked=bool(self._locked))
        return attrs if name is None else attrs.get(name)

    def GetData(self, name: Optional[str] = None) -> Any:
        if self.on_poll is not None:
            self.on_poll(self)
        return _get_data(self._data, name)

    def SetData(self, name: str, value: Any) -> None:
        _set_data(self._data, name, value)

    def MapPath(self, path: str) -> str:
        for prefix, target in self.path_maps.items():
            if path.startswith(prefix):
                return target + path[len(prefix):]
        return path

    def Lock(self) -> None:
        self._locked += 1

    def Unlock(self) -> None:
        assert self._locked > 0, "Unlock without Lock"
        self._locked -= 1

    def StartUndo(self, name: str) -> None:
        self.undo.append(name)

    def EndUndo(self, keep: bool = True) -> None:
        pass

    def Render(self, settings: Any = None, *args: Any) -> Optional[bool]:
        settings = dict(settings or {})
        if not settings.get("Quiet"):
            self.dialogs.append("Render Completed")  # [VFXPedia] Quiet: no dialogs
        self.renders.append(settings)
        tool = settings.get("Tool")
        savers = [tool] if tool is not None else [t for t in self._tools if t.ID == "Saver"]
        start = int(settings.get("Start", self._attrs["COMPN_RenderStart"]))
        end = int(settings.get("End", self._attrs["COMPN_RenderEnd"]))
        if self.fail_render:
            return None  # [Guide] the binding answers None (Lua: nil) for a failed render, never False
        if self.render_hook is None:
            raise RuntimeError("fake Fusion: no render_hook installed")
        for saver in savers:
            for t in range(start, end + 1):
                self.render_hook(saver, float(t))
        return True


class Fusion:
    def __init__(self, comp: Composition) -> None:
        self._comp = comp

    def GetCurrentComp(self) -> Composition:
        return self._comp

    def MapPath(self, path: str) -> str:
        return path


def saver_file(saver: Tool, t: float) -> str:
    """Fake: the file a Saver writes at comp time t (zeros before the extension are the padding)."""
    clip = str(saver.GetInput("Clip"))
    m = re.match(r"^(.*?)(0+)(\.[A-Za-z0-9]+)$", clip)
    if m is None:
        stem, ext = os.path.splitext(clip)
        return f"{stem}{int(t):04d}{ext}"
    return f"{m.group(1)}{int(t):0{len(m.group(2))}d}{m.group(3)}"
