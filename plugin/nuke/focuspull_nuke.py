"""The FocusPull node for Nuke: Render and Submit to farm, out of process (the Nuke adapter).

The node itself (the Group, its knobs, its buttons) is ``focuspull_nuke_node``;
its names are re-exported here. Render:

1. finds the plate on disk: an EXR Read in a scene-linear colour space is
   used as it is, anything else is written through an internal Write (EXR,
   scene-linear) first; the optional depth input likewise;
2. samples every animated knob at every frame with ``getValueAt`` and has the
   host package's one job builder make the ``focuspull.job/1`` job;
3. runs it in a ``BackgroundRun`` (``<worker python> -m focuspull render
   --job ...``) on a thread with a ``nuke.ProgressTask``; knob changes go
   through ``nuke.executeInMainThread``;
4. on success points the internal Read at the output (frame range and colour
   space set) and switches the Group's output to it.

Submit to farm gathers the same job (steps 1-2), then has the worker export
an Open Job Description bundle next to the output (``<output name>.farm/``)
and submit it with the Deadline Cloud CLI when that is installed and
configured (the same ``BackgroundRun``); otherwise the artist is told where
the bundle is and the command that submits it.

Errors land on the node's status line and in a message box, never as a
traceback dialog. Without a GUI (``nuke -t``, the farm) Render and Submit to
farm run in the calling thread.
"""

import logging
import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import nuke

import focuspull_host as fc
from focuspull_host import farm
from focuspull_host import schema as js
from focuspull_nuke_node import (ACTIONS, DEPTH_INPUT, DEPTH_WRITE, FARM_CHUNK_KNOB, INNER_READ, INNER_SWITCH,
                                 MATTE_INPUT, MATTE_WRITE, PLATE_INPUT, PLATE_WRITE, Action, add_knobs, build_group,
                                 create_node, current_group, ensure_actions, inner, is_focuspull, register_action)

log = logging.getLogger("focuspull.nuke")

# The node's own knobs and the job field each one sets (the generic options are <section>_<field>).
KNOB_KEYS = {
    "engine": "engine.name", "device": "engine.device", "engine_options": "engine.options",
    "depth_source": "depth.source", "depth_kind": "depth.kind", "depth_channel": "depth.channel",
    "focus_mode": "focus.mode", "focus": "focus.value", "strength_mode": "strength.mode",
    "strength": "strength.value", "pixel_type": "output.pixel_type", "compression": "output.compression",
}
CURVE_KNOBS = ("focus", "strength")
LINEAR_NAMES = {"linear", "scene_linear", "scene linear", "raw", "data", "acescg", "aces2065-1", "reference"}


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
    threaded = nuke.GUI if wait is None else not wait
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


__all__ = [
    "ACTIONS", "Action", "add_knobs", "build_group", "create_node", "current_group", "ensure_actions", "inner",
    "is_focuspull", "register_action", "build_plan", "knob_values", "output_pattern", "project_directory",
    "install_root", "start", "render", "submit_to_farm", "cancel", "run_of", "session_of", "submission_of",
    "show_output", "show_input", "on_render", "on_submit_to_farm", "on_cancel",
]
