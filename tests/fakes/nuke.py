"""A fake of the parts of Nuke's Python API that the FocusPull plugin uses.

Written from Foundry's Python API reference (nuke.Knob, Array_Knob,
Enumeration_Knob, XY_Knob, File_Knob, PyScript_Knob, Text_Knob, Group,
nuke.nodes, nuke.execute, nuke.ProgressTask, nuke.executeInMainThread...).
Behaviour the plugin relies on is modelled, including the rules that bite in
the real host:

* Knobs and nodes may only be changed on the main thread: doing it from a
  worker thread raises here (in Nuke it crashes or corrupts the script), so a
  test catches code that forgets ``executeInMainThread``.
* ``executeInMainThread`` queues the call; the test's "event loop"
  (``process_events`` / ``run_until``) runs it on the main thread.
* Animated knobs keep keys per channel with Nuke's interpolations (smooth by
  default, linear, constant) and answer ``getValueAt(frame, index)``.
* ``nuke.execute`` renders a Write by calling the test's ``render_hook``.
* ``nuke.lastHitGroup()`` is the Group whose node graph the artist last
  clicked in (Python API reference: "the group that was last hit in the DAG"),
  ``_last_hit`` here; a menu command runs with the root as its context, so a
  node made with ``nuke.nodes`` lands in the root unless made inside it.
* The root's ``project_directory`` (Project Settings) is where relative file
  paths of Read/Write nodes are resolved from (Nuke User Guide, "Project
  Settings > Project Directory"); its knob evaluates TCL/Python expressions.

Fake-only helpers start with an underscore or are listed in ``TEST_API``.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from typing import Any, Callable, Optional

TEST_API = ("reset", "process_events", "run_until", "messages", "progress_tasks", "render_hook", "menus")

# -- module constants (values are arbitrary but distinct, as in Nuke) --------
GUI = True
INTERACTIVE = True
EXE_PATH = "/opt/Nuke15.1v1/Nuke15.1"
NUKE_VERSION_STRING = "15.1v1"
env: dict[str, Any] = {"gui": True, "NukeVersionMajor": 15, "NukeVersionMinor": 1}

STARTLINE = 0x1000
ENDLINE = 0x2000
INVISIBLE = 0x400
DISABLED = 0x80
NO_ANIMATION = 0x100
ALWAYS_SAVE = 0x200
DO_NOT_WRITE = 0x1000000
READ_ONLY = 0x10000000
REPLACE = 1
SMOOTH = 0
LINEAR = 1
CONSTANT = 2
_INTERP_NAMES = {SMOOTH: "smooth", LINEAR: "linear", CONSTANT: "constant"}

_MAIN = threading.main_thread()
_main_queue: "queue.Queue[tuple[Callable[..., Any], tuple, dict, Optional[dict]]]" = queue.Queue()
messages: list[str] = []
progress_tasks: list["ProgressTask"] = []
render_hook: Optional[Callable[["Node", int], None]] = None
menus: dict[str, "Menu"] = {}
_plugin_path: list[str] = []
_this_node: list["Node"] = []
_context: list["Group"] = []
_root: Optional["Root"] = None
_last_hit: Optional["Group"] = None


class CancelledError(Exception):
    pass


def _require_main_thread(what: str) -> None:
    if threading.current_thread() is not _MAIN:
        raise RuntimeError(f"fake nuke: {what} called off the main thread; use nuke.executeInMainThread")


# -- knobs ----------------------------------------------------------------------
class Knob:
    dims = 1
    default: Any = ""

    def __init__(self, name: str, label: Optional[str] = None, *args: Any) -> None:
        self._name = name
        self._label = label if label is not None else name
        self._value: Any = self.default
        self._flags = 0
        self._tooltip = ""
        self._visible = True
        self._enabled = True
        self._node: Optional[Node] = None

    def Class(self) -> str:
        return type(self).__name__

    def name(self) -> str:
        return self._name

    def label(self) -> str:
        return self._label

    def node(self) -> "Node":
        assert self._node is not None
        return self._node

    def value(self, *args: Any) -> Any:
        return self._value

    def getValue(self, *args: Any) -> Any:
        return self.value(*args)

    def setValue(self, value: Any, *args: Any) -> bool:
        _require_main_thread(f"{self._name}.setValue")
        self._value = value
        return True

    def setFlag(self, flag: int) -> None:
        self._flags |= flag

    def clearFlag(self, flag: int) -> None:
        self._flags &= ~flag

    def getFlag(self, flag: int) -> bool:
        return bool(self._flags & flag)

    def setTooltip(self, text: str) -> None:
        self._tooltip = text

    def tooltip(self) -> str:
        return self._tooltip

    def setVisible(self, visible: bool) -> None:
        self._visible = visible

    def visible(self) -> bool:
        return self._visible

    def setEnabled(self, enabled: bool) -> None:
        _require_main_thread(f"{self._name}.setEnabled")
        self._enabled = enabled

    def enabled(self) -> bool:
        return self._enabled

    def isAnimated(self, index: int = -1) -> bool:
        return False

    def hasExpression(self, index: int = -1) -> bool:
        return False

    def getValueAt(self, frame: float, index: int = -1, view: Any = None) -> Any:
        return self.value()


class _Curve:
    """One animation channel: keys (frame -> value, interpolation of the segment leaving it)."""

    def __init__(self) -> None:
        self.keys: dict[float, list[Any]] = {}

    def set(self, frame: float, value: float) -> None:
        interp = self.keys[frame][1] if frame in self.keys else SMOOTH
        self.keys[float(frame)] = [float(value), interp]

    def evaluate(self, t: float) -> float:
        frames = sorted(self.keys)
        if t <= frames[0]:
            return self.keys[frames[0]][0]
        if t >= frames[-1]:
            return self.keys[frames[-1]][0]
        i = max(k for k in range(len(frames)) if frames[k] <= t)
        f0, f1 = frames[i], frames[i + 1]
        v0, interp = self.keys[f0]
        v1 = self.keys[f1][0]
        u = (t - f0) / (f1 - f0)
        if interp == CONSTANT:
            return v0
        if interp == LINEAR:
            return v0 + u * (v1 - v0)
        # Nuke's "smooth": cubic with Catmull-Rom-like slopes, flat at the end keys.
        m0 = self._slope(frames, i) * (f1 - f0)
        m1 = self._slope(frames, i + 1) * (f1 - f0)
        u2, u3 = u * u, u * u * u
        return (2 * u3 - 3 * u2 + 1) * v0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * v1 + (u3 - u2) * m1

    def _slope(self, frames: list[float], i: int) -> float:
        if i == 0 or i == len(frames) - 1:
            return 0.0
        a, b = frames[i - 1], frames[i + 1]
        return (self.keys[b][0] - self.keys[a][0]) / (b - a)


class AnimationKey:
    def __init__(self, x: float, y: float, interpolation: int) -> None:
        self.x, self.y, self.interpolation = x, y, interpolation


class AnimationCurve:
    def __init__(self, knob: "Array_Knob", index: int) -> None:
        self._knob, self._index = knob, index

    def _curve(self) -> _Curve:
        return self._knob._curves.setdefault(self._index, _Curve())

    def keys(self) -> list[AnimationKey]:
        c = self._curve()
        return [AnimationKey(f, v, i) for f, (v, i) in sorted(c.keys.items())]

    def setKey(self, t: float, y: float) -> AnimationKey:
        _require_main_thread("AnimationCurve.setKey")
        self._curve().set(t, y)
        return AnimationKey(t, y, self._curve().keys[float(t)][1])

    def changeInterpolation(self, keys: list[AnimationKey], interpolation: int) -> None:
        _require_main_thread("AnimationCurve.changeInterpolation")
        for key in keys:
            self._curve().keys[float(key.x)][1] = interpolation

    def evaluate(self, t: float) -> float:
        return self._curve().evaluate(t)

    def knob(self) -> "Array_Knob":
        return self._knob


class Array_Knob(Knob):
    default = 0.0

    def __init__(self, name: str, label: Optional[str] = None, *args: Any) -> None:
        super().__init__(name, label)
        self._value = [float(self.default)] * self.dims if self.dims > 1 else float(self.default)
        self._curves: dict[int, _Curve] = {}
        self._expressions: dict[int, Callable[[float], float]] = {}
        self._range = (0.0, 1.0)

    def _index_list(self, index: int) -> list[int]:
        return list(range(self.dims)) if index < 0 else [index]

    def setRange(self, lo: float, hi: float) -> None:
        self._range = (lo, hi)

    def value(self, index: int = -1, *args: Any) -> Any:
        if self.dims > 1:
            return list(self._value) if index < 0 else self._value[index]
        return self._value

    def setValue(self, value: Any, index: int = -1) -> bool:
        _require_main_thread(f"{self._name}.setValue")
        if self.dims > 1:
            if isinstance(value, (list, tuple)):
                self._value = [float(v) for v in value]
            elif index < 0:
                self._value = [float(value)] * self.dims
            else:
                self._value[index] = float(value)
        else:
            self._value = self._coerce(value)
        return True

    def _coerce(self, value: Any) -> Any:
        return float(value)

    def setAnimated(self, index: int = -1) -> bool:
        _require_main_thread(f"{self._name}.setAnimated")
        for i in self._index_list(index):
            self._curves.setdefault(i, _Curve())
        return True

    def isAnimated(self, index: int = -1) -> bool:
        return any(self._curves.get(i) and self._curves[i].keys for i in self._index_list(index))

    def hasExpression(self, index: int = -1) -> bool:
        return any(i in self._expressions for i in self._index_list(index))

    def setExpression(self, expression: Any, index: int = -1, view: Any = None) -> bool:
        """Fake: ``expression`` is a Python callable of the frame (Nuke takes TCL text)."""
        _require_main_thread(f"{self._name}.setExpression")
        for i in self._index_list(index):
            self._expressions[i] = expression
        return True

    def setValueAt(self, value: float, time: float, index: int = -1, view: Any = None) -> bool:
        _require_main_thread(f"{self._name}.setValueAt")
        for i in self._index_list(index):
            self._curves.setdefault(i, _Curve()).set(time, value)
        return True

    def animation(self, index: int) -> Optional[AnimationCurve]:
        return AnimationCurve(self, index) if index in self._curves else None

    def getValueAt(self, frame: float, index: int = -1, view: Any = None) -> Any:
        def one(i: int) -> float:
            if i in self._expressions:
                return float(self._expressions[i](frame))
            curve = self._curves.get(i)
            if curve is not None and curve.keys:
                return curve.evaluate(frame)
            return self._value[i] if self.dims > 1 else self._value

        if self.dims > 1 and index < 0:
            return [one(i) for i in range(self.dims)]
        return one(0 if index < 0 else index)

    def getKeyList(self) -> list[float]:
        return sorted({f for c in self._curves.values() for f in c.keys})


class Double_Knob(Array_Knob):
    pass


class Int_Knob(Array_Knob):
    default = 0

    def _coerce(self, value: Any) -> Any:
        return int(value)


class Boolean_Knob(Array_Knob):
    default = False

    def __init__(self, name: str, label: Optional[str] = None, value: bool = False) -> None:
        super().__init__(name, label)
        self._value = bool(value)

    def _coerce(self, value: Any) -> Any:
        return bool(value)


class Disable_Knob(Boolean_Knob):
    pass


class XY_Knob(Array_Knob):
    dims = 2

    def x(self) -> float:
        return self._value[0]

    def y(self) -> float:
        return self._value[1]


class Enumeration_Knob(Knob):
    def __init__(self, name: str, label: Optional[str] = None, values: Optional[list[str]] = None) -> None:
        super().__init__(name, label)
        self._values = list(values or [])
        self._value = 0

    def values(self) -> list[str]:
        return list(self._values)

    def setValues(self, values: list[str]) -> None:
        self._values = list(values)

    def numValues(self) -> int:
        return len(self._values)

    def enumName(self, n: int) -> str:
        return self._values[n]

    def value(self, *args: Any) -> str:
        return self._values[self._value] if self._values else ""

    def getValue(self, *args: Any) -> float:
        return float(self._value)

    def setValue(self, value: Any, *args: Any) -> bool:
        _require_main_thread(f"{self._name}.setValue")
        if isinstance(value, str):
            if value not in self._values:
                raise ValueError(f"Invalid value {value!r} for {self._name}; choices: {self._values}")
            self._value = self._values.index(value)
        else:
            self._value = int(value)
        return True


class String_Knob(Knob):
    default = ""

    def __init__(self, name: str, label: Optional[str] = None, value: str = "") -> None:
        super().__init__(name, label)
        self._value = value

    def setValue(self, value: Any, *args: Any) -> bool:
        return super().setValue(str(value))

    def getText(self) -> str:
        return self._value

    def evaluate(self) -> str:
        return self._value


class EvalString_Knob(String_Knob):
    pass


class File_Knob(EvalString_Knob):
    def fromUserText(self, text: str) -> None:
        self.setValue(text)


class Multiline_Eval_String_Knob(EvalString_Knob):
    pass


class Text_Knob(Knob):
    def __init__(self, name: str, label: Optional[str] = None, value: str = "") -> None:
        super().__init__(name, label)
        self._value = value


class Tab_Knob(Knob):
    pass


class Script_Knob(String_Knob):
    def __init__(self, name: str, label: Optional[str] = None, command: str = "") -> None:
        super().__init__(name, label, command)

    def command(self) -> str:
        return self._value

    def setCommand(self, command: str) -> None:
        self._value = command

    def execute(self) -> None:
        """Run the command the way Nuke does: with nuke.thisNode() set to the knob's node."""
        _require_main_thread(f"{self._name}.execute")
        if not self._value:
            return
        _this_node.append(self.node())
        try:
            exec(compile(self._value, f"<knob {self._name}>", "exec"), {"nuke": sys.modules[__name__]})
        finally:
            _this_node.pop()


class PyScript_Knob(Script_Knob):
    pass


class Obsolete_Knob(Knob):
    pass


# -- nodes -------------------------------------------------------------------------
class FrameRange:
    def __init__(self, first: int, last: int) -> None:
        self._first, self._last = first, last

    def first(self) -> int:
        return self._first

    def last(self) -> int:
        return self._last


def _read_knobs() -> list[Knob]:
    colorspaces = ["default (scene_linear)", "scene_linear", "linear", "sRGB", "rec709", "Cineon", "raw",
                   "ACES - ACEScg", "ACES - ACEScct"]
    return [
        File_Knob("file"), Int_Knob("first"), Int_Knob("last"), Int_Knob("origfirst"), Int_Knob("origlast"),
        Enumeration_Knob("colorspace", "colorspace", colorspaces), Boolean_Knob("raw"),
        Enumeration_Knob("frame_mode", "frame mode", ["expression", "start at", "offset"]), String_Knob("frame"),
        Enumeration_Knob("on_error", "missing frames", ["error", "black", "checkerboard", "nearest frame"]),
        PyScript_Knob("reload", "Reload"), Boolean_Knob("premultiplied"),
    ]


def _write_knobs() -> list[Knob]:
    colorspaces = ["default (scene_linear)", "scene_linear", "linear", "sRGB", "rec709", "raw", "ACES - ACEScg"]
    return [
        File_Knob("file"), Enumeration_Knob("file_type", "file type", [" ", "exr", "dpx", "tiff", "png", "jpeg"]),
        Enumeration_Knob("channels", "channels", ["rgb", "rgba", "all", "depth"]),
        Enumeration_Knob("colorspace", "colorspace", colorspaces), Boolean_Knob("raw"),
        Enumeration_Knob("datatype", "datatype", ["16 bit half", "32 bit float"]),
        Enumeration_Knob("compression", "compression", ["none", "Zip (1 scanline)", "Zip (16 scanlines)", "PIZ Wavelet (32 scanlines)"]),
        Boolean_Knob("create_directories"), Boolean_Knob("use_limit"), Int_Knob("first"), Int_Knob("last"),
    ]


_CLASS_KNOBS: dict[str, Callable[[], list[Knob]]] = {
    "Read": _read_knobs,
    "Write": _write_knobs,
    "Input": lambda: [Int_Knob("number")],
    "Switch": lambda: [Int_Knob("which")],
    "Output": lambda: [],
    "Group": lambda: [],
    "NoOp": lambda: [],
    "Dot": lambda: [],
    "Constant": lambda: [],
}
_MAX_INPUTS = {"Read": 0, "Input": 0, "Constant": 0, "Write": 1, "Output": 1, "Dot": 1, "NoOp": 1, "Switch": 2}


class Node:
    def __init__(self, cls: str, name: Optional[str] = None, parent: Optional["Group"] = None) -> None:
        _require_main_thread(f"creating a {cls}")
        self._class = cls
        self._knobs: dict[str, Knob] = {}
        self._order: list[str] = []
        self._inputs: dict[int, Optional[Node]] = {}
        self._parent = parent
        self._selected = False
        self._xy = (0, 0)
        #: fake: pixels for Node.sample, ``sampler(channel, x, y, frame) -> float``
        self.sampler: Optional[Callable[[str, float, float, float], float]] = None
        #: fake: channels of this node's output
        self.channel_list: list[str] = ["rgba.red", "rgba.green", "rgba.blue", "rgba.alpha"]
        self._frame_range = (1, 1)
        for knob in [String_Knob("name"), Disable_Knob("disable"), String_Knob("label")] + _CLASS_KNOBS.get(cls, lambda: [])():
            self._attach(knob)
        base = name or cls
        self._knobs["name"]._value = self._unique(base, explicit=name is not None)
        if parent is not None:
            parent._children.append(self)

    def _unique(self, base: str, explicit: bool) -> str:
        siblings = {n.name() for n in (self._parent._children if self._parent else [])}
        if explicit and base not in siblings:
            return base
        stem = base.rstrip("0123456789") or base
        i = 1
        while f"{stem}{i}" in siblings:
            i += 1
        return f"{stem}{i}"

    def _attach(self, knob: Knob) -> None:
        knob._node = self
        self._knobs[knob.name()] = knob
        self._order.append(knob.name())

    # -- identity ------------------------------------------------------------
    def Class(self) -> str:
        return self._class

    def name(self) -> str:
        return self._knobs["name"].value()

    def setName(self, name: str, uncollide: bool = False, updateExpressions: bool = False) -> None:
        _require_main_thread("setName")
        taken = {n.name() for n in (self._parent._children if self._parent else []) if n is not self}
        if name in taken:
            if not uncollide:
                raise ValueError(f"a node called {name} already exists")
            stem = name.rstrip("0123456789") or name
            i = 1
            while f"{stem}{i}" in taken:
                i += 1
            name = f"{stem}{i}"
        self._knobs["name"]._value = name

    def fullName(self) -> str:
        names = [self.name()]
        p = self._parent
        while p is not None and not isinstance(p, Root):
            names.append(p.name())
            p = p._parent
        return ".".join(reversed(names))

    def parent(self) -> Optional["Group"]:
        return self._parent

    # -- knobs -----------------------------------------------------------------
    def knobs(self) -> dict[str, Knob]:
        return dict(self._knobs)

    def allKnobs(self) -> list[Knob]:
        return [self._knobs[n] for n in self._order]

    def knob(self, name: Any) -> Optional[Knob]:
        if isinstance(name, int):
            return self._knobs[self._order[name]]
        return self._knobs.get(name)

    def __getitem__(self, name: str) -> Knob:
        if name not in self._knobs:
            raise NameError(f"knob {name} does not exist")
        return self._knobs[name]

    def addKnob(self, knob: Knob) -> None:
        _require_main_thread("addKnob")
        if knob.name() in self._knobs:
            raise ValueError(f"duplicate knob {knob.name()}")
        self._attach(knob)

    def removeKnob(self, knob: Knob) -> None:
        _require_main_thread("removeKnob")
        del self._knobs[knob.name()]
        self._order.remove(knob.name())

    # -- graph -----------------------------------------------------------------
    def input(self, i: int) -> Optional["Node"]:
        return self._inputs.get(i)

    def inputs(self) -> int:
        return max((i + 1 for i, n in self._inputs.items() if n is not None), default=0)

    def maxInputs(self) -> int:
        return _MAX_INPUTS.get(self._class, 1)

    def setInput(self, i: int, node: Optional["Node"]) -> bool:
        _require_main_thread("setInput")
        self._inputs[i] = node
        return True

    def dependent(self, *args: Any) -> list["Node"]:
        scope = self._parent._children if self._parent else []
        return [n for n in scope if self in n._inputs.values()]

    def setXYpos(self, x: int, y: int) -> None:
        self._xy = (x, y)

    def xpos(self) -> int:
        return self._xy[0]

    def ypos(self) -> int:
        return self._xy[1]

    def setSelected(self, selected: bool) -> None:
        self._selected = selected

    def isSelected(self) -> bool:
        return self._selected

    def autoplace(self) -> None:
        pass

    # -- image -----------------------------------------------------------------
    def _upstream(self) -> Optional["Node"]:
        parent = self._parent
        if self._class == "Input" and isinstance(parent, Group) and not isinstance(parent, Root):
            return parent._resolve_input(self)  # an Input node sees what is connected to its group
        if self._class == "Switch":
            return self.input(int(self["which"].value()))
        return self.input(0)

    def firstFrame(self) -> int:
        if self._class == "Read":
            return int(self["first"].value())
        up = self._upstream()
        return up.firstFrame() if up is not None else self._frame_range[0]

    def lastFrame(self) -> int:
        if self._class == "Read":
            return int(self["last"].value())
        up = self._upstream()
        return up.lastFrame() if up is not None else self._frame_range[1]

    def frameRange(self) -> FrameRange:
        return FrameRange(self.firstFrame(), self.lastFrame())

    def channels(self) -> list[str]:
        up = self._upstream()
        if self.sampler is None and up is not None and self._class not in ("Read",):
            return up.channels()
        return list(self.channel_list)

    def sample(self, channel: str, x: float, y: float, dx: float = 1.0, dy: float = 1.0, frame: Optional[float] = None) -> float:
        _require_main_thread("Node.sample")
        node: Optional[Node] = self
        while node is not None and node.sampler is None:
            node = node._upstream()
        if node is None or node.sampler is None:
            raise ValueError(f"{self.name()}: no image to sample")
        if channel not in node.channel_list:
            return 0.0  # Nuke returns 0 for a channel that is not there
        return float(node.sampler(channel, x, y, frame if frame is not None else _root_frame()))

    def metadata(self, key: Optional[str] = None, time: Optional[float] = None) -> Any:
        return {} if key is None else None


class Group(Node):
    def __init__(self, cls: str = "Group", name: Optional[str] = None, parent: Optional["Group"] = None) -> None:
        self._children: list[Node] = []
        super().__init__(cls, name, parent)

    def begin(self) -> "Group":
        _require_main_thread("Group.begin")
        _context.append(self)
        return self

    def end(self) -> None:
        assert _context and _context[-1] is self, "end() without begin()"
        _context.pop()

    def __enter__(self) -> "Group":
        return self.begin()

    def __exit__(self, *exc: Any) -> None:
        self.end()

    def nodes(self) -> list[Node]:
        return list(self._children)

    def node(self, name: str) -> Optional[Node]:
        return next((n for n in self._children if n.name() == name), None)

    def _input_nodes(self) -> list[Node]:
        return [n for n in self._children if n.Class() == "Input"]

    def maxInputs(self) -> int:
        return len(self._input_nodes())

    def _upstream(self) -> Optional[Node]:
        """A group's image is its Output node's input."""
        out = next((n for n in self._children if n.Class() == "Output"), None)
        return out.input(0) if out is not None else None

    def _resolve_input(self, input_node: Node) -> Optional[Node]:
        index = self._input_nodes().index(input_node)
        return self.input(index)


class Root(Group):
    def __init__(self) -> None:
        self._children = []
        Node.__init__(self, "Root", "root", None)
        for knob in (Int_Knob("first_frame"), Int_Knob("last_frame"), Int_Knob("frame"),
                     Enumeration_Knob("colorManagement", "color management", ["Nuke", "OCIO"]),
                     Enumeration_Knob("OCIO_config", "OCIO config", ["nuke-default", "aces_1.2", "custom"]),
                     File_Knob("customOCIOConfigPath"), File_Knob("project_directory")):
            self._attach(knob)
        self._knobs["name"]._value = ""
        self["first_frame"]._value = 1
        self["last_frame"]._value = 100
        self["frame"]._value = 1

    def name(self) -> str:
        return self._knobs["name"].value()

    def firstFrame(self) -> int:
        return int(self["first_frame"].value())

    def lastFrame(self) -> int:
        return int(self["last_frame"].value())


def _root_frame() -> float:
    return float(root()["frame"].value())


def _current_group() -> Group:
    return _context[-1] if _context else root()


def _make(cls: str, **knobs: Any) -> Node:
    name = knobs.pop("name", None)
    parent = _current_group()
    node: Node = Group(cls, name, parent) if cls == "Group" else Node(cls, name, parent)
    for key, value in knobs.items():
        if key == "inputs":
            for i, n in enumerate(value):
                node.setInput(i, n)
        else:
            node[key].setValue(value)
    return node


class _Nodes:
    def __getattr__(self, cls: str) -> Callable[..., Node]:
        return lambda **knobs: _make(cls, **knobs)


nodes = _Nodes()


def createNode(cls: str, knobs: str = "", inpanel: bool = True) -> Node:
    node = _make(cls)
    sel = selectedNodes()
    if sel:
        node.setInput(0, sel[0])
    return node


def root() -> Root:
    global _root
    if _root is None:
        _root = Root()
    return _root


def thisNode() -> Node:
    if not _this_node:
        raise RuntimeError("nuke.thisNode() outside a knob callback")
    return _this_node[-1]


def thisGroup() -> Group:
    return _current_group()


def lastHitGroup() -> Group:
    return _last_hit if _last_hit is not None else root()


def toNode(name: str) -> Optional[Node]:
    scope: Group = root()
    node: Optional[Node] = None
    for part in name.split("."):
        node = scope.node(part)
        if node is None:
            return None
        if isinstance(node, Group):
            scope = node
    return node


def allNodes(filter: Optional[str] = None, group: Optional[Group] = None, recurseGroups: bool = False) -> list[Node]:
    scope = group or _current_group()
    out: list[Node] = []
    for n in scope.nodes():
        if filter is None or n.Class() == filter:
            out.append(n)
        if recurseGroups and isinstance(n, Group):
            out.extend(allNodes(filter, n, True))
    return out


def selectedNodes(filter: Optional[str] = None) -> list[Node]:
    return [n for n in allNodes(filter) if n.isSelected()]


def selectedNode() -> Node:
    sel = selectedNodes()
    if not sel:
        raise ValueError("no node selected")
    return sel[-1]


def delete(node: Node) -> None:
    _require_main_thread("delete")
    if node._parent is not None:
        node._parent._children.remove(node)


def filename(node: Node, i: int = 0) -> Optional[str]:
    knob = node.knob("file")
    return knob.value() if knob is not None else None


def execute(node: Any, start: int, end: int, incr: int = 1, views: Any = None, continueOnError: bool = False) -> None:
    """Render a Write for frames start..end: the test's ``render_hook(write, frame)`` writes each file."""
    _require_main_thread("nuke.execute")
    write = toNode(node) if isinstance(node, str) else node
    if write is None or write.Class() != "Write":
        raise ValueError(f"{node}: only Write nodes can be executed")
    if write["disable"].value():
        raise RuntimeError(f"{write.name()} is disabled")
    if write.input(0) is None:
        raise RuntimeError(f"{write.name()}: nothing connected")
    if render_hook is None:
        raise RuntimeError("fake nuke: no render_hook installed")
    for frame in range(start, end + 1, incr):
        render_hook(write, frame)


def frame(f: Optional[int] = None) -> int:
    if f is not None:
        root()["frame"].setValue(f)
    return int(root()["frame"].value())


# -- UI -------------------------------------------------------------------------------
def message(text: str) -> None:
    _require_main_thread("nuke.message")
    messages.append(text)


alert = message


def ask(text: str) -> bool:
    messages.append(text)
    return True


def tprint(*args: Any, **kwargs: Any) -> None:
    print(*args, **kwargs)


def error(text: str) -> None:
    messages.append("error: " + text)


def warning(text: str) -> None:
    messages.append("warning: " + text)


class MenuItem:
    def __init__(self, name: str, command: Any = None, shortcut: str = "", icon: str = "") -> None:
        self._name, self._command, self._shortcut, self._icon = name, command, shortcut, icon

    def name(self) -> str:
        return self._name

    def script(self) -> Any:
        return self._command

    def invoke(self) -> None:
        if callable(self._command):
            self._command()
        else:
            exec(compile(self._command, f"<menu {self._name}>", "exec"), {"nuke": sys.modules[__name__]})


class Menu(MenuItem):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._items: list[MenuItem] = []

    def addMenu(self, name: str, icon: str = "", **kwargs: Any) -> "Menu":
        found = self.findItem(name)
        if isinstance(found, Menu):
            return found
        menu = Menu(name)
        self._items.append(menu)
        return menu

    def addCommand(self, name: str, command: Any = None, shortcut: str = "", icon: str = "", **kwargs: Any) -> MenuItem:
        path, _, leaf = name.rpartition("/")
        target = self.addMenu(path) if path else self
        for item in target._items:
            if item.name() == leaf:
                target._items.remove(item)
                break
        item = MenuItem(leaf, command, shortcut, icon)
        target._items.append(item)
        return item

    def addSeparator(self, **kwargs: Any) -> None:
        self._items.append(MenuItem("-"))

    def findItem(self, name: str) -> Optional[MenuItem]:
        head, _, rest = name.partition("/")
        for item in self._items:
            if item.name() == head:
                if rest and isinstance(item, Menu):
                    return item.findItem(rest)
                return item if not rest else None
        return None

    def items(self) -> list[MenuItem]:
        return list(self._items)


def menu(name: str) -> Menu:
    return menus.setdefault(name, Menu(name))


def toolbar(name: str, create: bool = True) -> Menu:
    return menu(name)


class ProgressTask:
    """Records what the plugin reports; ``request_cancel()`` plays the artist's Cancel button."""

    def __init__(self, title: str = "", *args: Any) -> None:
        self.title = title
        self.progress: list[int] = []
        self.message_log: list[str] = []
        self._cancel = threading.Event()
        self.thread = threading.current_thread()
        self.closed = False
        progress_tasks.append(self)

    def setProgress(self, value: int) -> None:
        self.progress.append(int(value))

    def setMessage(self, text: str) -> None:
        self.message_log.append(text)

    def isCancelled(self) -> bool:
        return self._cancel.is_set()

    def request_cancel(self) -> None:
        self._cancel.set()

    def __del__(self) -> None:
        self.closed = True


# -- threads -------------------------------------------------------------------------
def executeInMainThread(call: Callable[..., Any], args: Any = (), kwargs: Any = None) -> None:
    if not isinstance(args, tuple):
        args = (args,)  # Nuke accepts a single argument too
    _main_queue.put((call, args, kwargs or {}, None))


def executeInMainThreadWithResult(call: Callable[..., Any], args: Any = (), kwargs: Any = None) -> Any:
    if not isinstance(args, tuple):
        args = (args,)
    if threading.current_thread() is _MAIN:
        return call(*args, **(kwargs or {}))
    box: dict[str, Any] = {"done": threading.Event()}
    _main_queue.put((call, args, kwargs or {}, box))
    box["done"].wait()
    if "error" in box:
        raise box["error"]
    return box.get("result")


def process_events(timeout: float = 0.0) -> int:
    """Run queued main-thread calls (the fake's event loop); returns how many ran."""
    _require_main_thread("process_events")
    count = 0
    while True:
        try:
            call, args, kwargs, box = _main_queue.get(timeout=timeout if count == 0 else 0.0)
        except queue.Empty:
            return count
        count += 1
        try:
            result = call(*args, **kwargs)
            if box is not None:
                box["result"] = result
        except BaseException as err:  # as in Nuke: the error is reported, the loop goes on
            if box is not None:
                box["error"] = err
            else:
                messages.append(f"uncaught {type(err).__name__}: {err}")
        finally:
            if box is not None:
                box["done"].set()


def run_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process_events(timeout=0.05)
        if predicate():
            process_events()
            return True
    return False


# -- plugin path ------------------------------------------------------------------------
def pluginAddPath(path: str, addToSysPath: bool = True) -> None:
    if path not in _plugin_path:
        _plugin_path.insert(0, path)
    if addToSysPath and path not in sys.path:
        sys.path.insert(0, path)


def pluginAppendPath(path: str, addToSysPath: bool = True) -> None:
    if path not in _plugin_path:
        _plugin_path.append(path)
    if addToSysPath and path not in sys.path:
        sys.path.append(path)


def pluginPath() -> list[str]:
    return list(_plugin_path)


def reset() -> None:
    """Fake: a new, empty script."""
    global _root, render_hook, GUI, _last_hit
    _root = None
    _last_hit = None
    render_hook = None
    GUI = True
    _context.clear()
    _this_node.clear()
    messages.clear()
    progress_tasks.clear()
    menus.clear()
    _plugin_path.clear()
    while not _main_queue.empty():
        _main_queue.get_nowait()


@contextlib.contextmanager
def this_node(node: Node) -> Any:
    """Fake: run code as if in a callback of ``node``."""
    _this_node.append(node)
    try:
        yield node
    finally:
        _this_node.pop()
