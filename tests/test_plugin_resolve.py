"""The Fusion side (Lua, for free Resolve 21.1+, Resolve Studio and Fusion Studio) in a real Lua runtime.

The Lua runs under LuaJIT 2.1 and PUC Lua 5.1 (lupa) against the fake Fusion
(``tests/fakes/fusion.py``, which loads the real macro ``.setting``); renders
go through the real host package runner (``python -m focuspull_host run``)
with the fake worker, and end to end with the real worker.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from fakes.fusion import Composition, Fusion, parse_setting, saver_file
from fakes.lua import RUNTIMES, LuaHost, available
from fakes.paths import RESOLVE_DIR, add_plugin_paths, fake_worker_command
from fakes.worker import gone_within

add_plugin_paths()
import focuspull_host as fh  # noqa: E402

pytest.importorskip("lupa")
SETTING = RESOLVE_DIR / "FocusPull.setting"
RUNTIME_PARAMS = [pytest.param(r, marks=pytest.mark.skipif(not available(r), reason=f"lupa has no {r}"))
                  for r in RUNTIMES]


@pytest.fixture(params=RUNTIME_PARAMS)
def lua(request, monkeypatch):
    host = LuaHost(request.param)
    host.fp = host.module(str(RESOLVE_DIR))
    host.fp.POLL_S = 0.05
    monkeypatch.setenv("FOCUSPULL_PLUGIN_DIR", str(RESOLVE_DIR))
    return host


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("FOCUSPULL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("FOCUSPULL_WORKER_PYTHON", raising=False)
    return tmp_path


def use_fake_worker(tmp_path: Path, monkeypatch, mode: str = "ok") -> Path:
    """The Lua side starts the runner with "python"; the runner renders with the fake worker's "command"."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "worker.json").write_text(json.dumps({"python": sys.executable, "command": fake_worker_command()}))
    monkeypatch.setenv("FAKE_WORKER_MODE", mode)
    record = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_WORKER_RECORD", str(record))
    return record


def touch_sequence(folder: Path, name: str, frames) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in frames:
        (folder / f"{name}.{f:04d}.exr").write_bytes(b"")


def add_loader(comp: Composition, clip, global_in: int = 1001):
    comp.Lock()
    loader = comp.AddTool("Loader", False, 0, 0)
    comp.Unlock()
    loader.SetInput("Clip", str(clip))
    loader.place(global_in)
    return loader


def shot(tmp_path: Path, first_file: int = 1, output: bool = True):
    """A comp rendering 1001-1003 with a FocusPull fed by a Loader of plate.0001-0003.exr."""
    touch_sequence(tmp_path / "plate", "plate", range(first_file, first_file + 3))
    comp = Composition(1001, 1003, filename=str(tmp_path / "comp" / "shot.comp"))
    loader = add_loader(comp, tmp_path / "plate" / f"plate.{first_file:04d}.exr")
    macro = comp.load_setting(str(SETTING))
    macro.ConnectInput("MainInput1", loader)
    if output:
        macro.SetInput("OutputFile", str(tmp_path / "out" / "refocus.####.exr"))
    macro.selected = True
    return comp, loader, macro


def job_of(lua, comp, macro) -> dict:
    plan = lua.fp.plan(comp, macro)
    return fh.build_job(fh.HostInputs.from_dict(lua.to_python(plan.inputs)))


def run_script(lua, name: str, comp) -> None:
    lua.run_file(str(RESOLVE_DIR / name), comp=comp, fusion=Fusion(comp))


# -- the macro, made from the schema ----------------------------------------------------------
def test_macro_and_control_list_are_generated_from_the_shipped_schema():
    from focuspull.install import fusion_macro

    schema = fh.load_schema()
    generated = fusion_macro.generated(schema)
    assert SETTING.read_text() == generated["FocusPull.setting"]
    assert (RESOLVE_DIR / "focuspull_controls.lua").read_text() == generated["focuspull_controls.lua"]
    root = parse_setting(SETTING.read_text())
    macro = root["Tools"]["FocusPull"]
    controls = macro["Tools"]["FocusPullPlate"]["UserControls"]
    assert "Output" not in controls  # the image output's ID; the file control is OutputFile
    for c in fusion_macro.controls(schema):
        if c.kind == "combo":
            assert [o["CCS_AddString"] for o in controls[c.id].array] == fh.choices(schema, c.key)
    assert controls["Status"]["INP_Passive"] is True and controls["Status"]["TEC_ReadOnly"] is True
    # a new core option shows up without host code: every generic job option has a control
    keys = {c.key for c in fusion_macro.controls(schema)}
    assert {"aperture.cat_eye", "focus.statistic", "strength.f_stop", "depth.stabilize"} <= keys
    for button, script in (("Render", "FocusPull Render.lua"), ("Farm", "FocusPull Submit to Farm.lua")):
        lua_code = controls[button]["BTNCS_Execute"]
        assert "FocusPull.Target" in lua_code and "Scripts:Comp/FocusPull/" + script in lua_code
        assert (RESOLVE_DIR / script).is_file()
    assert "FocusPull.Cancel" in controls["Cancel"]["BTNCS_Execute"]


def test_fake_rejects_a_user_control_that_reuses_an_output_id(tmp_path):
    text = SETTING.read_text().replace("OutputFile = {", "Output = {", 1)
    bad = tmp_path / "bad.setting"
    bad.write_text(text)
    with pytest.raises(ValueError, match="also an output ID"):
        Composition().load_setting(str(bad))


# -- finding the tools and the plate ------------------------------------------------------------
def test_status_names_the_depth_being_made_before_the_first_frame(lua):
    event = lua.to_lua({"event": "stage", "stage": "stabilize", "done": 3, "total": 12})
    assert lua.fp.progress_text(event) == "stabilising depth (3/12)"
    assert lua.fp.progress_text(lua.to_lua({"event": "stage", "stage": "depth", "done": 1, "total": 4})) == \
        "estimating depth (1/4)"


def test_targets_button_then_selection_then_active(env, tmp_path, lua):
    comp, loader, macro = shot(tmp_path)
    other = comp.load_setting(str(SETTING))
    comp.SetData("FocusPull.Target", other.Name)  # what a button's Lua does
    assert list(lua.fp.find_targets(comp).values()) == [other]
    assert comp.GetData("FocusPull.Target") is None
    assert list(lua.fp.find_targets(comp).values()) == [macro]
    macro.selected = False
    comp.SetActiveTool(other)
    assert list(lua.fp.find_targets(comp).values()) == [other]


def test_exr_loader_is_read_in_place_and_controls_sampled_per_frame(env, tmp_path, lua):
    comp, loader, macro = shot(tmp_path, first_file=1)
    macro.animate("Focus", {1001: 2.0, 1003: 4.0})
    macro.animate("ApertureAspect", {1001: 1.0, 1003: 0.5})
    macro.SetInput("Engine", 1)
    macro.SetInput("DepthKind", 2)  # disparity
    macro.SetInput("DepthChannel", "disparity.x")
    macro.SetInput("ApertureCatEye", 0.25)  # an option made from the schema, no host code for it
    job = job_of(lua, comp, macro)
    assert job["input"] == {"pattern": str(tmp_path / "plate" / "plate.####.exr"), "frames": "1-3"}
    assert job["focus"] == {"value": {"frames": [1, 2, 3], "values": [2.0, 3.0, 4.0]}, "mode": "auto"}
    assert job["strength"] == {"value": 10.0, "mode": "k"}
    assert job["aperture"] == {"aspect": {"frames": [1, 2, 3], "values": [1.0, 0.75, 0.5]}, "cat_eye": 0.25}
    assert job["engine"]["name"] == "neural"
    assert job["depth"] == {"source": "channel", "kind": "disparity", "channel": "disparity.x"}
    assert not comp.renders
    from focuspull.job import Job

    assert Job.from_dict(job).focus.value.evaluate([1, 2, 3]) == [2.0, 3.0, 4.0]


def test_stabilisation_can_be_forced_off_and_highlights_set_to_auto(env, tmp_path, lua):
    """Stabilisation is a menu (auto/on/off) with its weight beside it; engine options carry "auto"."""
    from focuspull.depth_conditioning import ConditioningSteps
    from focuspull.job import Job

    comp, loader, macro = shot(tmp_path)
    macro.SetInput("DepthSource", fh.choices(fh.load_schema(), "depth.source").index("estimate"))
    macro.SetInput("DepthStabilize", 2)  # off
    macro.SetInput("EngineOptions", '{"highlight_gain": "auto"}')
    job = job_of(lua, comp, macro)
    assert job["depth"]["stabilize"] == "off" and job["engine"]["options"] == {"highlight_gain": "auto"}
    assert ConditioningSteps.for_depth(Job.from_dict(job).depth).stabilize == 0.0
    macro.SetInput("DepthStabilize", 1)  # on
    macro.SetInput("DepthStabilizeWeight", 0.7)
    job = job_of(lua, comp, macro)
    assert (job["depth"]["stabilize"], job["depth"]["stabilize_weight"]) == ("on", 0.7)


def test_the_plate_starts_at_the_loaders_own_start_frame_with_path_maps(env, tmp_path, lua):
    """A Loader pointed at plate.0002.exr still starts its sequence at 0001 (TOOLIT_Clip_StartFrame);
    Footage: is a path map, expanded with comp:MapPath."""
    touch_sequence(tmp_path / "plate", "plate", range(1, 11))
    comp = Composition(1001, 1003, filename=str(tmp_path / "shot.comp"))
    comp.path_maps["Footage:"] = str(tmp_path) + "/"
    loader = add_loader(comp, "Footage:plate/plate.0002.exr")
    loader.SetInput("ClipTimeStart", 4)  # trimmed: comp 1001 shows the 5th file
    macro = comp.load_setting(str(SETTING))
    macro.ConnectInput("MainInput1", loader)
    macro.SetInput("OutputFile", "Footage:out/r.####.exr")
    job = job_of(lua, comp, macro)
    assert job["input"] == {"pattern": str(tmp_path / "plate" / "plate.####.exr"), "frames": "5-7"}
    assert loader.file_for_time(1001).endswith("plate.0005.exr")  # the fake agrees with the mapping
    assert job["output"]["pattern"] == str(tmp_path / "out" / "r.####.exr")


def test_a_loader_that_holds_frames_goes_through_a_saver(env, tmp_path, lua):
    comp, loader, macro = shot(tmp_path)
    loader.SetInput("GlobalIn", 1000)  # moved back alone: Fusion holds the first file at 1000 (Hold First Frame)
    assert loader.GetInput("HoldFirstFrame") == 1 and loader.file_for_time(1001).endswith("plate.0001.exr")
    comp._attrs["COMPN_RenderStart"] = 1000.0
    plan = lua.fp.plan(comp, macro)
    assert plan.sources[1].saver is not None


def test_other_upstream_renders_through_a_quiet_temporary_saver(env, tmp_path, lua):
    comp, loader, macro = shot(tmp_path)
    comp.Lock()
    blur = comp.AddTool("Blur", False, 0, 0)
    comp.Unlock()
    blur.ConnectInput("Input", loader)
    macro.ConnectInput("MainInput1", blur)
    comp.SetActiveTool(macro)  # a toolbar-style AddTool would wire the Saver to this
    written = []
    comp.render_hook = lambda saver, t: written.append((saver.GetInput("Input"), saver_file(saver, t)))
    plan = lua.fp.plan(comp, macro)
    saver = plan.sources[1].saver
    assert saver.Input.GetConnectedOutput().GetTool() is blur
    lua.fp.render_savers(comp, plan.sources, plan.times)
    cache = tmp_path / "out" / "_focuspull_input"
    assert [w[1] for w in written] == [str(cache / f"FocusPull_plate.{t}.exr") for t in (1001, 1002, 1003)]
    assert comp.renders[0]["Wait"] is True and comp.renders[0]["Quiet"] is True and not comp.dialogs
    assert saver.deleted
    assert lua.to_python(plan.inputs)["plate"] == str(cache / "FocusPull_plate.####.exr")


def test_a_failed_saver_render_is_an_error_on_the_tool(env, tmp_path, monkeypatch, lua):
    use_fake_worker(tmp_path, monkeypatch)
    comp, loader, macro = shot(tmp_path)
    comp.Lock()
    blur = comp.AddTool("Blur", False, 0, 0)
    comp.Unlock()
    blur.ConnectInput("Input", loader)
    macro.ConnectInput("MainInput1", blur)
    comp.fail_render = True  # Render answers nil, not false
    lua.fp.run(comp, "render")
    assert macro.GetInput("Status").startswith("error: Fusion could not render Saver1 to ")
    assert macro.GetInput("Status").endswith("[render_failed]")
    assert comp.FindTool("Saver1") is None and not (tmp_path / "out" / "_focuspull_run").exists()


def test_output_defaults_without_a_comp_file(env, tmp_path, lua, monkeypatch):
    comp, loader, macro = shot(tmp_path, output=False)
    assert lua.fp.output_pattern(comp, macro, None) == str(tmp_path / "comp" / "focuspull" / "FocusPull" / "FocusPull.####.exr")
    comp._attrs["COMPS_FileName"] = ""  # Resolve: a comp lives in the project, not in a file
    assert lua.fp.plan(comp, macro).output == str(tmp_path / "plate" / "focuspull" / "FocusPull" / "FocusPull.####.exr")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert lua.fp.output_pattern(comp, macro, None) == str(
        tmp_path / "home" / "FocusPull" / "Composition1" / "FocusPull" / "FocusPull.####.exr")


def test_status_updates_do_not_invalidate_the_comp(env, tmp_path, lua):
    comp, loader, macro = shot(tmp_path)
    holder = [c for c in macro._children if c.Name == "FocusPullPlate"][0]
    before = holder.invalidations
    lua.fp.set_status(macro, "frame 1001 (1/3)")
    assert macro.GetInput("Status") == "frame 1001 (1/3)" and holder.invalidations == before
    macro.SetInput("Focus", 3.0)
    assert holder.invalidations == before + 1  # the fake does count a real parameter change


# -- the result Loader ------------------------------------------------------------------------------
@pytest.mark.parametrize("global_start, times, frames", [
    (1, [1001, 1002, 1003], [1, 2, 3]),            # a forward shift: Out must move before In
    (2000, [1001, 1002, 1003], [1, 2, 3]),         # backwards: In before Out
    (1001, [1001, 1003, 1005], [1001, 1003, 1005]),  # a stepped range: gaps held, not Fail
])
def test_result_loader_lands_at_the_right_comp_times(env, tmp_path, lua, global_start, times, frames):
    touch_sequence(tmp_path / "out", "r", frames)
    comp = Composition(times[0], times[-1], global_start=global_start)
    macro = comp.load_setting(str(SETTING))
    result = [c for c in macro._children if c.Name == "FocusPullResult"][0]
    result.SetInput("Clip", str(tmp_path / "out" / "other.0001.exr"))  # an earlier result: different length
    lua.fp.show_output(comp, macro, str(tmp_path / "out" / "r.####.exr"), lua.to_lua(times), lua.to_lua(frames))
    for t in range(times[0], times[-1] + 1):
        expected = max(f for f, tt in zip(frames, times) if tt <= t)
        assert result.file_for_time(t) == str(tmp_path / "out" / f"r.{expected:04d}.exr"), t
    assert result.file_for_time(times[0] - 1) is None and result.file_for_time(times[-1] + 1) is None


# -- rendering through the runner ----------------------------------------------------------------
def test_render_script_runs_the_worker_and_loads_the_result(env, tmp_path, monkeypatch, lua):
    record = use_fake_worker(tmp_path, monkeypatch)
    comp, loader, macro = shot(tmp_path)
    touch_sequence(tmp_path / "out", "refocus", [1, 2, 3])  # the fake worker writes no pixels
    run_script(lua, "FocusPull Render.lua", comp)
    assert macro.GetInput("Status").startswith("rendered 3 frame(s) to ")
    result = [c for c in macro._children if c.Name == "FocusPullResult"][0]
    assert [result.file_for_time(t) for t in (1001, 1003)] == [str(tmp_path / "out" / "refocus.0001.exr"),
                                                               str(tmp_path / "out" / "refocus.0003.exr")]
    assert [c for c in macro._children if c.Name == "FocusPullSwitch"][0].GetInput("Mix") == 1.0
    sent = json.loads(record.read_text())
    assert sent["job"]["input"]["frames"] == "1-3" and sent["env"]["PYTHONUNBUFFERED"] == "1"
    assert comp.undo == ["FocusPull render"] and not comp.GetAttrs("COMPB_Locked")


def test_worker_error_lands_on_the_tool_and_the_console(env, tmp_path, monkeypatch, lua):
    use_fake_worker(tmp_path, monkeypatch, mode="error")
    comp, loader, macro = shot(tmp_path)
    lua.fp.run(comp, "render")
    assert macro.GetInput("Status") == "error: plate.0002.exr is missing [missing_frames]"
    assert any("every input frame exists" in line for line in lua.printed)
    assert [c for c in macro._children if c.Name == "FocusPullSwitch"][0].GetInput("Mix") == 0


def test_no_worker_configured_is_said_before_anything_renders(env, tmp_path, lua):
    comp, loader, macro = shot(tmp_path)
    lua.fp.run(comp, "render")
    assert macro.GetInput("Status").startswith("error: no worker Python is configured")
    assert macro.GetInput("Status").endswith("[worker_not_configured]")
    assert not (tmp_path / "out").exists()


def test_cancel_stops_the_worker_and_its_children(env, tmp_path, monkeypatch, lua):
    use_fake_worker(tmp_path, monkeypatch, mode="hang")
    pids = tmp_path / "pids.json"
    monkeypatch.setenv("FAKE_WORKER_PIDS", str(pids))
    comp, loader, macro = shot(tmp_path)

    def press_cancel_once_rendering(c):
        if str(macro.GetInput("Status")).startswith("frame"):
            run_script_cancel()

    def run_script_cancel():
        comp.on_poll = None
        run_script(lua, "FocusPull Cancel.lua", comp)  # the Cancel script (the button does the same SetData)

    comp.on_poll = press_cancel_once_rendering
    started = time.monotonic()
    lua.fp.run(comp, "render")
    assert macro.GetInput("Status").startswith("cancelled: render cancelled after 1 of 3")
    assert time.monotonic() - started < 30
    seen = json.loads(pids.read_text())
    assert gone_within(seen["worker"]) and gone_within(seen["child"])


def test_render_quotes_paths_with_spaces_and_quotes(env, tmp_path, monkeypatch, lua):
    use_fake_worker(tmp_path, monkeypatch)
    odd = tmp_path / "it's a shot"
    comp, loader, macro = shot(odd)
    touch_sequence(odd / "out", "refocus", [1, 2, 3])
    lua.fp.run(comp, "render")
    assert macro.GetInput("Status").startswith("rendered 3 frame(s)")


# -- end to end: the real worker ------------------------------------------------------------------
def real_shot(tmp_path, write_exr, frames=3, size=(48, 32)):
    import numpy as np

    rng = np.random.default_rng(5)
    plates = {}
    (tmp_path / "plate").mkdir()
    h, w = size
    for i in range(frames):
        rgba = rng.uniform(0.0, 3.0, size=(h, w, 4)).astype(np.float32)
        plates[1001 + i] = rgba
        pixels = np.concatenate([rgba, np.full((h, w, 1), 4.0, np.float32)], axis=2)
        write_exr(tmp_path / "plate" / f"plate.{i + 1:04d}.exr", pixels, ("R", "G", "B", "A", "Z"), formats="float")
    comp = Composition(1001, 1000 + frames)
    loader = add_loader(comp, tmp_path / "plate" / "plate.0001.exr")
    macro = comp.load_setting(str(SETTING))
    macro.ConnectInput("MainInput1", loader)
    macro.SetInput("OutputFile", str(tmp_path / "out" / "refocus.####.exr"))
    macro.SetInput("Device", 1)  # cpu
    macro.SetInput("PixelType", 1)  # float
    macro.SetInput("Focus", 4.0)
    macro.SetInput("Strength", 30.0)
    macro.selected = True
    return comp, loader, macro, plates


def test_end_to_end_render_with_the_real_worker(env, tmp_path, monkeypatch, write_exr, lua):
    """Frames on the focal plane come back unchanged, rendered by `python -m focuspull` from Lua."""
    import numpy as np
    import OpenImageIO as oiio

    monkeypatch.setenv("FOCUSPULL_WORKER_PYTHON", sys.executable)
    comp, loader, macro, plates = real_shot(tmp_path, write_exr)
    run_script(lua, "FocusPull Render.lua", comp)
    assert macro.GetInput("Status").startswith("rendered 3 frame(s)"), macro.GetInput("Status")
    result = [c for c in macro._children if c.Name == "FocusPullResult"][0]
    for t, rgba in plates.items():
        image = oiio.ImageBuf(result.file_for_time(t))
        names = list(image.spec().channelnames)
        got = image.get_pixels(oiio.FLOAT)[:, :, [names.index(c) for c in "RGBA"]]
        np.testing.assert_allclose(got, rgba, rtol=1e-6, atol=1e-6)


def test_end_to_end_cancel_with_the_real_worker(env, tmp_path, monkeypatch, write_exr, lua):
    monkeypatch.setenv("FOCUSPULL_WORKER_PYTHON", sys.executable)
    comp, loader, macro, plates = real_shot(tmp_path, write_exr, frames=40, size=(96, 128))
    pressed = []

    def cancel_on_first_frame(c):
        if str(macro.GetInput("Status")).startswith("frame") and not pressed:
            pressed.append(macro.GetInput("Status"))
            c.SetData("FocusPull.Cancel", True)  # the Cancel button's Lua

    comp.on_poll = cancel_on_first_frame
    lua.fp.run(comp, "render")
    status = macro.GetInput("Status")
    assert pressed and status.startswith("cancelled: render cancelled after "), status
    written = sorted((tmp_path / "out").glob("refocus.*.exr"))
    assert len(written) < 40
    pid = int((tmp_path / "out" / "_focuspull_run" / "FocusPull" / "pid").read_text())
    assert gone_within(pid)


# -- the worker settings and the launcher, per platform ------------------------------------------------
def test_lua_reads_the_worker_python_as_the_host_package_does(env, tmp_path, lua, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    settings = config / "worker.json"
    settings.write_text(json.dumps({"command": ["rez", "env", "focuspull", "--", "python", "-m", "focuspull"]}))
    assert list(lua.fp.worker_python().values()) == ["rez", "env", "focuspull", "--", "python"]
    settings.write_text(json.dumps({"command": ["/opt/wrapper.sh"]}))
    failure = lua.rt.eval("function(f) local ok, err = pcall(f) return (not ok) and tostring(err) end")
    assert failure(lua.fp.worker_python).endswith(
        "names no worker Python (a 'command' must end in -m focuspull) [worker_not_configured]")
    monkeypatch.setenv("FOCUSPULL_WORKER_PYTHON", "/env/python")
    assert list(lua.fp.worker_python().values()) == ["/env/python"]


def test_windows_launcher_is_a_batch_file_that_clears_the_hosts_python(lua):
    lua.fp.windows = True
    try:
        name, script = lua.fp.launcher(lua.to_lua(["C:/Program Files/fp/python.exe"]), "D:/shots/out/_focuspull_run/FP")
    finally:
        lua.fp.windows = False
    lines = script.split("\r\n")
    assert name == "run.bat" and lines[0] == "@echo off"
    assert lines[1].startswith('cd /D "') and "set PYTHONHOME=" in lines and "set PYTHONPATH=" in lines
    assert ('"C:\\Program Files\\fp\\python.exe" -m focuspull_host run "D:\\shots\\out\\_focuspull_run\\FP" > '
            '"D:\\shots\\out\\_focuspull_run\\FP\\log.txt" 2>&1') in lines
    assert 'echo %ERRORLEVEL%> "D:\\shots\\out\\_focuspull_run\\FP\\rc"' in lines


def test_a_runner_deaf_to_the_cancel_file_is_stopped_by_its_pid(tmp_path, lua):
    import subprocess

    deaf = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (tmp_path / "pid").write_text("{}\n".format(deaf.pid))
        lua.fp.kill(str(tmp_path))
        assert deaf.wait(timeout=10) != 0
    finally:
        if deaf.poll() is None:
            deaf.kill()
