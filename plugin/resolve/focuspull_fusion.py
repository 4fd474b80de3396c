"""FocusPull for Fusion and DaVinci Resolve's Fusion page: render the selected FocusPull tools.

The FocusPull macro (``FocusPull.setting``) wraps a Loader for the result and
holds the controls (Focus, Strength, ...; Focus, Strength and the aperture's
rotation and aspect are animatable). This script, run from Scripts > Comp >
FocusPull > FocusPull Render (or the macro's Render button):

1. finds the FocusPull tools to render: the one whose Render button was
   pressed, else the selected ones, else the active tool;
2. takes the plate from the upstream Loader's EXR clip, or renders the
   upstream through a temporary Saver to EXR (Resolve's MediaIn, any other
   tool); the optional Depth input likewise;
3. samples every control per frame with ``GetInput(name, time)``, writes the
   job and runs the worker, reporting progress on the console and in the
   macro's Status line;
4. points the macro's Loader at the output and shows it.

Submit to Farm (the macro's button, or Scripts > Comp > FocusPull >
FocusPull Submit to Farm) does steps 1-3 up to the job, then has the worker
export an Open Job Description bundle next to the output (``<output
name>.farm/``) and submit it with the Deadline Cloud CLI when that is
installed and configured (``focuspull_farm``); otherwise the console and the
Status line say where the bundle is and how to submit it.

It needs no UI Manager (the free Resolve has none): everything is reported on
the console and on the tool. Cancel: the macro's Cancel button or
Scripts > Comp > FocusPull > FocusPull Cancel.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import focuspull_client as fc
import focuspull_farm as farm

log = logging.getLogger("focuspull.fusion")

RESULT_LOADER = "FocusPullResult"
CONTROLS = "FocusPullPlate"  # the inner tool that holds the user controls
PLATE_PIPE = "FocusPullPlate"
DEPTH_PIPE = "FocusPullDepth"
SWITCH = "FocusPullSwitch"
CANCEL_KEY = "FocusPull.Cancel"
TARGET_KEY = "FocusPull.Target"
MACRO_IDS = ("MacroOperator", "GroupOperator")

# Combo controls answer an index; these are their entries, in the order of FocusPull.setting.
CHOICES: Dict[str, List[str]] = {
    "FocusMode": ["auto", "distance", "disparity", "point"],
    "StrengthMode": ["k", "lens", "max_blur"],
    "DepthSource": ["channel", "estimate"],
    "DepthKind": ["depth", "inverse_depth", "disparity", "normalized_disparity"],
    "Engine": ["physical", "neural"],
    "Device": ["auto", "cpu", "cuda"],
    "PixelType": ["half", "float"],
    "ApertureShape": ["disk", "polygon", "image"],
}
# Number controls -> aperture fields of the job; animatable ones are sampled per frame.
APERTURE_NUMBERS = {"ApertureBlades": ("blades", 6, False), "ApertureRoundness": ("roundness", 0.0, False),
                    "ApertureRotation": ("rotation_deg", 0.0, True), "ApertureAspect": ("aspect", 1.0, True)}


def _values(table: Any) -> List[Any]:
    """Fusion returns Lua tables as dicts keyed 1.0, 2.0, ...; in order."""
    if table is None:
        return []
    if isinstance(table, dict):
        return [table[k] for k in sorted(table)]
    return list(table)


def _name(tool: Any) -> str:
    return str(tool.Name)


def _reg_id(tool: Any) -> str:
    return str(tool.GetAttrs("TOOLS_RegID") or tool.ID)


# -- finding the tools ---------------------------------------------------------------
def children(tool: Any) -> List[Any]:
    try:
        return _values(tool.GetChildrenList())
    except Exception:
        return []


def child(tool: Any, base: str) -> Any:
    """The inner tool called ``base`` (Fusion renames copies ``base_1``, ``base_2``, ...)."""
    for c in children(tool):
        name = _name(c)
        if name == base or (name.startswith(base + "_") and name[len(base) + 1:].isdigit()):
            return c
    raise fc.ClientError("{}: its inner tool {} is missing; re-add the FocusPull macro".format(_name(tool), base))


def is_focuspull(tool: Any) -> bool:
    if tool is None or _reg_id(tool) not in MACRO_IDS:
        return False
    try:
        child(tool, RESULT_LOADER)
        return True
    except fc.ClientError:
        return False


def find_targets(comp: Any) -> List[Any]:
    """The FocusPull tools to render: a Render button's tool, else the selection, else the active tool."""
    target = comp.GetData(TARGET_KEY)
    if target:
        comp.SetData(TARGET_KEY, None)
        tool = comp.FindTool(str(target))
        if is_focuspull(tool):
            return [tool]
    selected = [t for t in _values(comp.GetToolList(True)) if is_focuspull(t)]
    if selected:
        return selected
    active = getattr(comp, "ActiveTool", None)
    if is_focuspull(active):
        return [active]
    raise fc.ClientError("select a FocusPull tool (Add Tool > Macros > FocusPull) and run the script again, or "
                         "press the tool's own button", code="nothing_selected")


# -- controls ---------------------------------------------------------------------
def control(tool: Any, name: str, time: Optional[float] = None) -> Any:
    """A macro control's value (at ``time``), read from the macro or, failing that, its inner tool."""
    value = tool.GetInput(name) if time is None else tool.GetInput(name, time)
    if value is None:
        holder = child(tool, CONTROLS)
        value = holder.GetInput(name) if time is None else holder.GetInput(name, time)
    return value


def choice(tool: Any, name: str) -> str:
    options = CHOICES[name]
    raw = control(tool, name)
    index = int(round(float(raw or 0)))
    if not 0 <= index < len(options):
        raise fc.InvalidJob("{}: {} is not one of {}".format(name, raw, ", ".join(options)))
    return options[index]


def text(tool: Any, name: str) -> str:
    value = control(tool, name)
    return "" if value is None else str(value).strip()


def set_status(tool: Any, message: str) -> None:
    """Show ``message`` on the tool and on the console; never fails the render."""
    sys.stdout.write("FocusPull {}: {}\n".format(_name(tool), message))
    sys.stdout.flush()
    try:
        if not tool.SetInput("Status", message):
            child(tool, CONTROLS).SetInput("Status", message)
    except Exception:
        pass


def sample(tool: Any, name: str, times: List[float], frames: List[int]) -> fc.Curve:
    """A control sampled at every comp time, keyed by the job's frames (dense, or a number when flat)."""
    values = []
    for t in times:
        value = control(tool, name, t)
        if value is None:
            raise fc.InvalidJob("{}: no value at frame {}".format(name, t))
        values.append(float(value))
    return fc.curve_from_samples(frames, values)


# -- where the pixels come from ---------------------------------------------------------
def upstream(tool: Any, index: int, pipe: str) -> Any:
    """The tool connected to the macro's main input ``index`` (1 = Plate, 2 = Depth), or None."""
    for holder, number in ((tool, index), (child(tool, pipe), 1)):
        try:
            inp = holder.FindMainInput(number)
            out = inp.GetConnectedOutput() if inp is not None else None
        except Exception:  # some builds expose the instance input only on the inner tool
            out = None
        if out is not None:
            return out.GetTool()
    return None


class Source:
    """A sequence the worker reads; ``file_frame(t)`` maps comp time to its frame numbers."""

    def __init__(self, pattern: str, offset: int, saver: Any = None, colorspace: Optional[str] = None) -> None:
        self.pattern = pattern
        self.offset = offset  # file frame = comp time + offset
        self.saver = saver
        self.colorspace = colorspace

    def file_frame(self, t: float) -> int:
        return int(round(t)) + self.offset


def loader_exr(tool: Any) -> Optional[Source]:
    """A Loader reading an EXR sequence straight (no reverse/loop): used as it is."""
    if tool is None or _reg_id(tool) != "Loader":
        return None
    clips = _values(tool.GetAttrs("TOOLST_Clip_Name"))
    clip = str(clips[0]) if clips else str(tool.GetInput("Clip") or "")
    if not clip.lower().endswith(".exr"):
        return None
    for flag in ("Reverse", "Loop"):
        if tool.GetInput(flag):
            return None
    pattern, first = fc.pattern_from_filename(clip)
    if first is None:
        return None
    trim_in = int(tool.GetInput("ClipTimeStart") or 0)
    global_in = int(round(float(tool.GetInput("GlobalIn") or 0)))
    return Source(pattern, first + trim_in - global_in)


def saver_source(comp: Any, tool: Any, upstream_tool: Any, cache_dir: str, label: str) -> Source:
    """Render ``upstream_tool`` to EXR through a temporary Saver (deleted after rendering)."""
    stem = "{}_{}".format(_name(tool), label)
    base = os.path.join(cache_dir, stem + ".0000.exr")  # Fusion puts the frame number in the zeros
    comp.Lock()  # a locked comp adds a Saver without opening a file dialog
    try:
        saver = comp.AddTool("Saver", -32768, -32768)
    finally:
        comp.Unlock()
    if saver is None:
        raise fc.ClientError("cannot add a Saver to render {} to EXR".format(_name(upstream_tool)))
    saver.SetInput("Clip", base)
    saver.SetInput("OutputFormat", "OpenEXRFormat")
    saver.SetInput("CreateDir", 1)
    saver.ConnectInput("Input", upstream_tool)
    return Source(os.path.join(cache_dir, stem + ".####.exr"), 0, saver=saver)


def plan_source(comp: Any, tool: Any, index: int, pipe: str, cache_dir: str, label: str) -> Optional[Source]:
    up = upstream(tool, index, pipe)
    if up is None:
        return None
    return loader_exr(up) or saver_source(comp, tool, up, cache_dir, label)


def render_savers(comp: Any, sources: List[Source], times: List[float]) -> None:
    for source in sources:
        if source.saver is None:
            continue
        try:
            for first, last in fc.frame_runs(int(round(t)) for t in times):
                ok = comp.Render({"Start": first, "End": last, "Tool": source.saver, "Wait": True})
                if ok is False:
                    raise fc.ClientError("Fusion could not render {} to {}".format(_name(source.saver), source.pattern))
        finally:
            try:
                source.saver.Delete()
            except Exception:
                pass
            source.saver = None


# -- the job ------------------------------------------------------------------------
def comp_times(comp: Any, tool: Any) -> List[float]:
    frames_text = text(tool, "Frames")
    if frames_text:
        return [float(f) for f in fc.parse_frames(frames_text)]
    attrs = comp.GetAttrs()
    first = int(round(float(attrs["COMPN_RenderStart"])))
    last = int(round(float(attrs["COMPN_RenderEnd"])))
    return [float(t) for t in range(first, last + 1)]


def output_pattern(comp: Any, tool: Any) -> str:
    value = text(tool, "Output")
    if value:
        return comp.MapPath(value) if hasattr(comp, "MapPath") else value
    comp_file = comp.GetAttrs().get("COMPS_FileName") or ""
    base = os.path.dirname(comp_file) if comp_file else os.path.join(tempfile.gettempdir(), "focuspull")
    return os.path.join(base, "focuspull", _name(tool), _name(tool) + ".####.exr")


class Plan:
    def __init__(self, tool: Any, job: Dict[str, Any], times: List[float], frames: List[int], sources: List[Source]) -> None:
        self.tool = tool
        self.job = job
        self.times = times
        self.frames = frames
        self.sources = sources

    @property
    def job_path(self) -> str:
        """Where the job is written: next to the output, ``<output name>.job.json``."""
        return fc.job_path_for(self.job["output"]["pattern"])


def build_plan(comp: Any, tool: Any) -> Plan:
    times = comp_times(comp, tool)
    output = output_pattern(comp, tool)
    cache_dir = os.path.join(os.path.dirname(output), "_focuspull_input")
    plate = plan_source(comp, tool, 1, PLATE_PIPE, cache_dir, "plate")
    if plate is None:
        raise fc.InvalidJob("connect a plate to the FocusPull tool's Plate input")
    sources = [plate]
    frames = [plate.file_frame(t) for t in times]
    kind: Optional[str] = choice(tool, "DepthKind")
    channel = text(tool, "DepthChannel")
    depth_args: Dict[str, Any] = {}
    depth = plan_source(comp, tool, 2, DEPTH_PIPE, cache_dir, "depth")
    if depth is not None:
        if depth.offset != plate.offset:
            raise fc.InvalidJob("the Depth Loader's frames are offset from the Plate's; align their Global In")
        sources.append(depth)
        depth_args.update(depth_source="sequence", depth_pattern=depth.pattern)
    elif choice(tool, "DepthSource") == "estimate":
        depth_args["depth_source"] = "estimate"
        kind, channel = None, ""  # estimated depth is always normalized disparity
    if channel:
        depth_args["depth_channel"] = channel

    mode = choice(tool, "FocusMode")
    focus: Optional[fc.Curve] = None
    focus_options: Dict[str, Any] = {}
    if mode == "point":
        # Focus X/Y are pixels from the bottom left, as Fusion's own coordinates run.
        focus_options = {"x": sample(tool, "FocusX", times, frames), "y": sample(tool, "FocusY", times, frames),
                         "origin": "bottom_left"}
    else:
        focus = sample(tool, "Focus", times, frames)

    strength_mode = choice(tool, "StrengthMode")
    strength: Optional[fc.Curve] = None
    strength_options: Dict[str, Any] = {}
    if strength_mode == "lens":
        strength_options = {"focal_length_mm": sample(tool, "FocalLength", times, frames),
                            "f_stop": sample(tool, "FStop", times, frames)}
        filmback = float(control(tool, "Filmback") or 0.0)
        if filmback > 0:
            strength_options["filmback_width_mm"] = filmback
        unit = float(control(tool, "SceneUnit") or 1000.0)
        if unit != 1000.0:
            strength_options["scene_unit_mm"] = unit
    else:
        strength = sample(tool, "Strength", times, frames)

    aperture: Dict[str, Any] = {}
    shape = choice(tool, "ApertureShape")
    if shape != "disk":
        aperture["shape"] = shape
    for name, (field, default, animated) in APERTURE_NUMBERS.items():
        value: Any = sample(tool, name, times, frames) if animated else control(tool, name)
        if value is None:
            continue
        if not animated:
            value = int(round(float(value))) if field == "blades" else float(value)
        if value != default:
            aperture[field] = value
    if shape == "image":
        kernel = text(tool, "ApertureKernel")
        if not kernel:
            raise fc.InvalidJob("Aperture Shape 'image' needs an Aperture Kernel image")
        aperture["kernel_path"] = kernel

    job = fc.make_job(
        plate.pattern,
        output,
        focus,
        strength,
        frames=frames,
        depth_kind=kind,
        focus_mode=mode,
        focus_options=focus_options,
        strength_mode=strength_mode,
        strength_options=strength_options,
        engine=choice(tool, "Engine"),
        device=choice(tool, "Device"),
        pixel_type=choice(tool, "PixelType"),
        aperture=aperture or None,
        **depth_args
    )
    if fc.same_frame_file(output, plate.pattern, frames[0]):
        raise fc.InvalidJob("Output {} is the plate itself; choose another Output".format(output))
    fc.check_job(job)
    return Plan(tool, job, times, frames, sources)


# -- rendering ---------------------------------------------------------------------------
def show_output(comp: Any, tool: Any, pattern: str, times: List[float], frames: List[int]) -> None:
    """Point the macro's Loader at the output, aligned with comp time, and show it."""
    loader = child(tool, RESULT_LOADER)
    comp.Lock()
    try:
        loader.SetInput("Clip", fc.frame_path(pattern, frames[0]))
        first_t, last_t = int(round(times[0])), int(round(times[-1]))
        loader.SetInput("GlobalIn", first_t)  # moves the clip; Global Out follows
        loader.SetInput("GlobalOut", last_t)
        loader.SetInput("ClipTimeStart", 0)
        loader.SetInput("ClipTimeEnd", frames[-1] - frames[0])
        child(tool, SWITCH).SetInput("Mix", 1.0)
    finally:
        comp.Unlock()


def prepare_tool(comp: Any, tool: Any, command: Optional[List[str]] = None) -> Plan:
    """The job of one tool with its inputs on disk as EXR: where Render and Submit to Farm both start."""
    set_status(tool, "preparing")
    plan = build_plan(comp, tool)
    if command is None:
        fc.worker_command()  # fail before rendering anything when no worker is configured
    if any(s.saver is not None for s in plan.sources):
        set_status(tool, "rendering the input to EXR")
    render_savers(comp, plan.sources, plan.times)
    return plan


def render_tool(comp: Any, tool: Any, command: Optional[List[str]] = None, poll_s: float = 0.2) -> fc.RenderResult:
    """Render one FocusPull tool to the end (this blocks the script, not Fusion)."""
    plan = prepare_tool(comp, tool, command)
    comp.SetData(CANCEL_KEY, False)

    def on_event(event: fc.Event) -> None:
        set_status(tool, fc.progress_text(event))

    def is_cancelled() -> bool:
        return bool(comp.GetData(CANCEL_KEY))

    result = fc.run_job(plan.job, plan.job_path, on_event=on_event, is_cancelled=is_cancelled, command=command,
                        poll_s=poll_s)
    show_output(comp, tool, result.output_pattern, plan.times, plan.frames)
    set_status(tool, "rendered {} frame(s) to {} in {:.1f}s".format(result.frames_done, result.output_pattern, result.seconds))
    return result


def _console(message: str) -> None:
    sys.stdout.write(message + "\n")


def for_each_target(comp: Any, action: Callable[[Any], Any], undo: str,
                    report: Optional[Callable[[str], None]] = None) -> List[Tuple[Any, Optional[BaseException]]]:
    """Run ``action(tool)`` on every target tool; failures are reported per tool and do not stop the others."""
    say = report or _console
    outcomes: List[Tuple[Any, Optional[BaseException]]] = []
    try:
        targets = find_targets(comp)
    except fc.ClientError as err:
        say(fc.describe_error(err))
        return [(None, err)]
    for tool in targets:
        comp.StartUndo(undo)
        try:
            action(tool)
            outcomes.append((tool, None))
        except fc.RenderCancelled as err:
            set_status(tool, "cancelled: " + err.message)
            outcomes.append((tool, err))
            break
        except Exception as err:  # every failure becomes a message on the tool, not a traceback
            if not isinstance(err, fc.ClientError):
                log.exception("FocusPull: unexpected error")
            message = fc.describe_error(err)
            set_status(tool, "error: " + message.splitlines()[0].replace("FocusPull: ", "", 1))
            say(message)
            outcomes.append((tool, err))
        finally:
            comp.EndUndo(True)
    return outcomes


def render_selected(comp: Any, command: Optional[List[str]] = None,
                    report: Optional[Callable[[str], None]] = None) -> List[Tuple[Any, Optional[BaseException]]]:
    """Render every target tool; failures are reported per tool and do not stop the others."""
    return for_each_target(comp, lambda tool: render_tool(comp, tool, command), "FocusPull render", report)


def request_cancel(comp: Any) -> None:
    comp.SetData(CANCEL_KEY, True)


# -- the farm ----------------------------------------------------------------------------
def farm_chunk_size(tool: Any) -> int:
    value = control(tool, "FarmChunkSize")
    return farm.DEFAULT_CHUNK_SIZE if value is None else int(round(float(value)))  # None: a macro older than it


def submit_tool(comp: Any, tool: Any, command: Optional[List[str]] = None,
                submit: Union[bool, str] = "auto") -> farm.FarmResult:
    """Export one FocusPull tool's shot as a farm bundle (``<output name>.farm/``) and submit it.

    ``submit``: "auto" (submit when the Deadline Cloud CLI is installed and
    configured, else only export), True or False. Blocks the script, not Fusion.
    """
    plan = prepare_tool(comp, tool, command)  # the farm reads EXRs from disk, as the local worker does
    result = farm.submit_to_farm(plan.job, plan.job_path, command=command, chunk_size=farm_chunk_size(tool),
                                 submit=submit, on_status=lambda text: set_status(tool, text))
    set_status(tool, farm.status_text(result))
    return result


def submit_selected(comp: Any, command: Optional[List[str]] = None,
                    report: Optional[Callable[[str], None]] = None) -> List[Tuple[Any, Optional[BaseException]]]:
    """Submit every target tool to the farm; each outcome (bundle, job id or error) is reported."""
    say = report or _console

    def submit_one(tool: Any) -> None:
        say(farm.describe_result(submit_tool(comp, tool, command)))

    return for_each_target(comp, submit_one, "FocusPull submit to farm", say)


# -- entry points -----------------------------------------------------------------------
def main(namespace: Optional[Dict[str, Any]] = None, cancel: bool = False, submit_farm: bool = False) -> int:
    """Entry point of the comp scripts: ``main(globals())``; ``cancel`` / ``submit_farm`` for the other two."""
    import focuspull_bmd

    try:
        comp = focuspull_bmd.current_comp(namespace)
    except focuspull_bmd.HostNotFound as err:
        sys.stdout.write("FocusPull: {}\n".format(err))
        return 1
    if cancel:
        request_cancel(comp)
        sys.stdout.write("FocusPull: cancel requested\n")
        return 0
    outcomes = submit_selected(comp) if submit_farm else render_selected(comp)
    return 0 if outcomes and all(err is None for _, err in outcomes) else 1


def main_farm(namespace: Optional[Dict[str, Any]] = None) -> int:
    """Entry point of FocusPull Submit to Farm: ``main_farm(globals())``."""
    return main(namespace, submit_farm=True)
