"""The Resolve / Fusion script and macro against a fake Fusion and a fake (or the real) worker."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import sys
from pathlib import Path

import pytest

from fakes.fusion import Composition, Fusion, parse_setting, saver_file
from fakes.paths import RESOLVE_DIR, add_plugin_paths
from fakes.worker import use_fake_worker

add_plugin_paths()
import focuspull_bmd  # noqa: E402
import focuspull_client as fc  # noqa: E402
import focuspull_fusion as ff  # noqa: E402

SETTING = RESOLVE_DIR / "FocusPull.setting"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("FOCUSPULL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("FOCUSPULL_WORKER_PYTHON", raising=False)
    return tmp_path


def touch_sequence(folder: Path, name: str, frames) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in frames:
        (folder / f"{name}.{f:04d}.exr").write_bytes(b"")


def add_loader(comp: Composition, clip: Path, global_in: int = 1001):
    comp.Lock()
    loader = comp.AddTool("Loader")
    comp.Unlock()
    loader.SetInput("GlobalIn", global_in)
    loader.SetInput("Clip", str(clip))
    return loader


def shot(tmp_path: Path, first_file: int = 1):
    """A comp rendering 1001-1003 with a FocusPull fed by a Loader of plate.0001-0003.exr."""
    touch_sequence(tmp_path / "plate", "plate", range(first_file, first_file + 3))
    comp = Composition(1001, 1003, filename=str(tmp_path / "comp" / "shot.comp"))
    loader = add_loader(comp, tmp_path / "plate" / f"plate.{first_file:04d}.exr")
    macro = comp.load_setting(str(SETTING))
    macro.ConnectInput("MainInput1", loader)
    macro.SetInput("Output", str(tmp_path / "out" / "refocus.####.exr"))
    macro.selected = True
    return comp, loader, macro


# -- the macro --------------------------------------------------------------------------
def test_setting_file_matches_the_script_and_the_core():
    from focuspull.aperture import APERTURE_SHAPES

    root = parse_setting(SETTING.read_text())
    macro = root["Tools"]["FocusPull"]
    controls = macro["Tools"]["FocusPullPlate"]["UserControls"]
    for name, options in ff.CHOICES.items():
        assert [o["CCS_AddString"] for o in controls[name].array] == options, name
    from focuspull.job import DEPTH_KINDS, FocusSpec, StrengthSpec
    from typing import get_args, get_type_hints

    assert ff.CHOICES["ApertureShape"] == list(APERTURE_SHAPES)
    assert ff.CHOICES["PixelType"] == fc.load_schema()["properties"]["output"]["properties"]["pixel_type"]["enum"]
    assert ff.CHOICES["DepthKind"] == list(DEPTH_KINDS)
    assert ff.CHOICES["StrengthMode"] == list(get_args(get_type_hints(StrengthSpec)["mode"]))
    assert set(ff.CHOICES["FocusMode"]) <= set(get_args(get_type_hints(FocusSpec)["mode"]))
    exposed = macro["Inputs"].fields
    for name in list(ff.CHOICES) + ["Focus", "Strength", "Output", "Frames", "FarmChunkSize", "Status", "Render",
                                    "Farm", "Cancel"]:
        assert exposed[name]["Source"] == name and exposed[name]["SourceOp"] == ff.CONTROLS
    # one row of buttons: Render | Submit to Farm | Cancel; each press names its tool, then runs its script
    order = list(exposed)
    assert order.index("Render") + 1 == order.index("Farm") == order.index("Cancel") - 1
    assert sum(controls[b]["ICD_Width"] for b in ("Render", "Farm", "Cancel")) == pytest.approx(1.0)
    assert controls["Farm"]["LINKS_Name"] == "Submit to Farm"
    for button, script in (("Render", "FocusPull Render.py"), ("Farm", "FocusPull Submit to Farm.py")):
        lua = controls[button]["BTNCS_Execute"]
        assert ff.TARGET_KEY in lua and "Scripts:Comp/FocusPull/" + script in lua
        assert (RESOLVE_DIR / script).is_file()
    assert ff.CANCEL_KEY in controls["Cancel"]["BTNCS_Execute"]
    assert controls["FarmChunkSize"]["INP_Default"] == exposed["FarmChunkSize"]["Default"] == 10
    assert macro["Tools"]["FocusPullResult"].type == "Loader"


def test_macro_instances_get_unique_inner_names(env):
    comp = Composition()
    first, second = comp.load_setting(str(SETTING)), comp.load_setting(str(SETTING))
    assert second.Name == "FocusPull_1"
    assert ff.child(second, ff.RESULT_LOADER).Name == "FocusPullResult_1"
    assert ff.is_focuspull(first) and ff.is_focuspull(second)


def test_targets_button_then_selection_then_active(env, tmp_path):
    comp, loader, macro = shot(tmp_path)
    other = comp.load_setting(str(SETTING))
    comp.SetData(ff.TARGET_KEY, other.Name)  # what the Render button's Lua does
    assert ff.find_targets(comp) == [other]
    assert comp.GetData(ff.TARGET_KEY) is None
    assert ff.find_targets(comp) == [macro]  # the selection
    macro.selected = False
    comp.SetActiveTool(other)
    assert ff.find_targets(comp) == [other]
    comp.SetActiveTool(loader)
    with pytest.raises(fc.ClientError, match="select a FocusPull tool"):
        ff.find_targets(comp)


# -- the job ------------------------------------------------------------------------------
def test_exr_loader_is_used_directly_with_frames_mapped_and_controls_sampled(env, tmp_path):
    from focuspull.job import Job

    comp, loader, macro = shot(tmp_path, first_file=1)
    macro.animate("Focus", {1001: 2.0, 1003: 4.0})
    macro.animate("ApertureAspect", {1001: 1.0, 1003: 0.5})
    macro.SetInput("Engine", 1)
    macro.SetInput("DepthKind", 2)  # disparity
    macro.SetInput("DepthChannel", "disparity.x")
    plan = ff.build_plan(comp, macro)
    job = plan.job
    # comp frames 1001-1003 show files 1-3: the job speaks the files' frame numbers
    assert plan.times == [1001.0, 1002.0, 1003.0] and plan.frames == [1, 2, 3]
    assert job["input"] == {"pattern": str(tmp_path / "plate" / "plate.####.exr"), "frames": "1-3"}
    assert job["focus"] == {"value": {"frames": [1, 2, 3], "values": [2.0, 3.0, 4.0]}, "mode": "auto"}
    assert job["strength"] == {"value": 10, "mode": "k"}
    assert job["aperture"] == {"aspect": {"frames": [1, 2, 3], "values": [1.0, 0.75, 0.5]}}
    assert job["engine"]["name"] == "neural"
    assert job["depth"] == {"source": "channel", "kind": "disparity", "channel": "disparity.x"}
    assert plan.sources[0].saver is None and not comp.renders
    parsed = Job.from_dict(job)
    assert parsed.focus.value.evaluate([1, 2, 3]) == [2.0, 3.0, 4.0]


def test_point_lens_and_estimate_modes(env, tmp_path):
    from focuspull.job import Job

    comp, loader, macro = shot(tmp_path)
    macro.SetInput("FocusMode", 3)  # point
    macro.animate("FocusX", {1001: 10.0, 1003: 30.0})
    macro.SetInput("FocusY", 12.0)
    macro.SetInput("StrengthMode", 1)  # lens
    macro.SetInput("FocalLength", 50.0)
    macro.animate("FStop", {1001: 2.0, 1003: 4.0})
    macro.SetInput("Filmback", 36.0)
    macro.SetInput("DepthSource", 1)  # estimate
    job = ff.build_plan(comp, macro).job
    assert job["focus"] == {"mode": "point", "x": {"frames": [1, 2, 3], "values": [10.0, 20.0, 30.0]}, "y": 12.0,
                            "origin": "bottom_left"}
    assert job["strength"] == {"mode": "lens", "focal_length_mm": 50.0,
                               "f_stop": {"frames": [1, 2, 3], "values": [2.0, 3.0, 4.0]}, "filmback_width_mm": 36.0}
    assert job["depth"] == {"source": "estimate"}
    parsed = Job.from_dict(job)
    assert parsed.depth.kind == "normalized_disparity" and parsed.focus.origin == "bottom_left"


def test_trimmed_loader_maps_comp_time_to_the_right_files(env, tmp_path):
    touch_sequence(tmp_path / "plate", "plate", range(1, 11))
    comp = Composition(1001, 1003)
    loader = add_loader(comp, tmp_path / "plate" / "plate.0001.exr", global_in=1001)
    loader.SetInput("ClipTimeStart", 4)  # the clip starts at its 5th file
    macro = comp.load_setting(str(SETTING))
    macro.ConnectInput("MainInput1", loader)
    macro.SetInput("Output", str(tmp_path / "out" / "r.####.exr"))
    plan = ff.build_plan(comp, macro)
    assert plan.frames == [5, 6, 7]
    assert loader.file_for_time(1001).endswith("plate.0005.exr")  # the fake agrees with the mapping


def test_other_upstream_is_rendered_through_a_temporary_saver(env, tmp_path):
    comp, loader, macro = shot(tmp_path)
    comp.Lock()
    blur = comp.AddTool("Blur")
    comp.Unlock()
    blur.ConnectInput("Input", loader)
    macro.ConnectInput("MainInput1", blur)
    written = []
    comp.render_hook = lambda saver, t: written.append((saver.GetInput("Input"), saver_file(saver, t)))
    plan = ff.build_plan(comp, macro)
    saver = plan.sources[0].saver
    assert saver is not None and saver.GetInput("OutputFormat") == "OpenEXRFormat"
    assert saver.Input.GetConnectedOutput().GetTool() is blur
    ff.render_savers(comp, plan.sources, plan.times)
    cache = tmp_path / "out" / "_focuspull_input"
    assert [w[1] for w in written] == [str(cache / f"FocusPull_plate.{t}.exr") for t in (1001, 1002, 1003)]
    assert comp.renders[0]["Tool"] is saver and comp.renders[0]["Wait"] is True
    assert saver.deleted and comp.FindTool(saver.Name) is None
    assert plan.job["input"]["pattern"] == str(cache / "FocusPull_plate.####.exr")
    assert plan.frames == [1001, 1002, 1003]


def test_unconnected_plate_is_an_error_on_the_tool(env, tmp_path, capsys):
    comp = Composition()
    macro = comp.load_setting(str(SETTING))
    macro.selected = True
    outcomes = ff.render_selected(comp)
    assert isinstance(outcomes[0][1], fc.InvalidJob)
    assert macro.GetInput("Status") == "error: connect a plate to the FocusPull tool's Plate input [invalid_job]"
    assert "[invalid_job]" in capsys.readouterr().out


def test_submit_to_farm_errors_land_on_the_tool(env, tmp_path, capsys):
    comp = Composition()
    macro = comp.load_setting(str(SETTING))
    macro.selected = True
    assert ff.main_farm({"comp": comp}) == 1
    assert macro.GetInput("Status") == "error: connect a plate to the FocusPull tool's Plate input [invalid_job]"
    comp, loader, macro = shot(tmp_path)
    assert ff.main_farm({"comp": comp}) == 1  # no worker configured: said on the tool, nothing written
    assert macro.GetInput("Status").startswith("error: no worker Python is configured")
    out = capsys.readouterr().out
    assert "[worker_not_configured]" in out and "focuspull install" in out
    assert not (tmp_path / "out").exists() and comp.undo == ["FocusPull submit to farm"]
    macro.selected = False
    assert ff.main_farm({"comp": comp}) == 1
    assert "select a FocusPull tool" in capsys.readouterr().out


# -- rendering with the fake worker ---------------------------------------------------------
def test_render_points_the_macro_loader_at_the_output(env, tmp_path, monkeypatch):
    record = use_fake_worker(tmp_path, monkeypatch)
    comp, loader, macro = shot(tmp_path)
    touch_sequence(tmp_path / "out", "refocus", [1, 2, 3])  # the fake worker writes no pixels
    outcomes = ff.render_selected(comp)
    assert outcomes == [(macro, None)]
    result = ff.child(macro, ff.RESULT_LOADER)
    assert result.GetInput("Clip") == str(tmp_path / "out" / "refocus.0001.exr")
    assert (result.GetInput("GlobalIn"), result.GetInput("GlobalOut")) == (1001, 1003)
    assert [result.file_for_time(t) for t in (1001, 1003)] == [str(tmp_path / "out" / "refocus.0001.exr"),
                                                               str(tmp_path / "out" / "refocus.0003.exr")]
    assert ff.child(macro, ff.SWITCH).GetInput("Mix") == 1.0
    assert macro.GetInput("Status").startswith("rendered 3 frame(s)")
    assert json.loads(record.read_text())["job"]["input"]["frames"] == "1-3"
    assert comp.undo == ["FocusPull render"] and not comp.GetAttrs("COMPB_Locked")


def test_worker_error_lands_on_the_tool_and_the_console(env, tmp_path, monkeypatch, capsys):
    use_fake_worker(tmp_path, monkeypatch, mode="error")
    comp, loader, macro = shot(tmp_path)
    outcomes = ff.render_selected(comp)
    assert isinstance(outcomes[0][1], fc.RenderFailed)
    assert macro.GetInput("Status") == "error: plate.0002.exr is missing [missing_frames]"
    assert "every input frame exists" in capsys.readouterr().out
    assert ff.child(macro, ff.SWITCH).GetInput("Mix") == 0  # still the plate


def test_cancel_from_the_macro_button(env, tmp_path, monkeypatch):
    use_fake_worker(tmp_path, monkeypatch, mode="hang")
    monkeypatch.setenv("FAKE_WORKER_PIDS", str(tmp_path / "pids.json"))
    comp, loader, macro = shot(tmp_path)

    def press_cancel_once_rendering(c):
        if str(macro.GetInput("Status")).startswith("frame"):
            c._data.setdefault("FocusPull", {})["Cancel"] = True  # the Cancel button's Lua

    comp.on_poll = press_cancel_once_rendering
    outcomes = ff.render_selected(comp)
    assert isinstance(outcomes[0][1], fc.RenderCancelled)
    assert macro.GetInput("Status").startswith("cancelled: render cancelled after 1 of 3")


def test_comp_script_runs_from_fusion_globals(env, tmp_path, monkeypatch):
    use_fake_worker(tmp_path, monkeypatch)
    comp, loader, macro = shot(tmp_path)
    script = tmp_path / "Scripts" / "Comp" / "FocusPull" / "FocusPull Render.py"
    script.parent.mkdir(parents=True)
    shutil.copy(RESOLVE_DIR / "FocusPull Render.py", script)
    monkeypatch.setenv("FOCUSPULL_PLUGIN_DIR", str(RESOLVE_DIR))
    runpy.run_path(str(script), init_globals={"fu": Fusion(comp), "comp": comp})
    assert macro.GetInput("Status").startswith("rendered 3 frame(s)")
    cancel = RESOLVE_DIR / "FocusPull Cancel.py"
    runpy.run_path(str(cancel), init_globals={"comp": comp})
    assert comp.GetData(ff.CANCEL_KEY) is True


# -- reaching Resolve from outside ---------------------------------------------------------
def test_documented_library_paths_per_os():
    assert focuspull_bmd.script_lib_candidates({}, "linux")[0] == "/opt/resolve/libs/Fusion/fusionscript.so"
    assert focuspull_bmd.script_lib_candidates({}, "darwin") == [
        "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so"]
    assert focuspull_bmd.script_lib_candidates({"PROGRAMFILES": "D:\\PF"}, "win32") == [
        "D:\\PF\\Blackmagic Design\\DaVinci Resolve\\fusionscript.dll"]
    assert focuspull_bmd.script_api_candidates({"PROGRAMDATA": "C:\\ProgramData"}, "win32") == [
        "C:\\ProgramData\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting"]
    env = {"RESOLVE_SCRIPT_LIB": "/custom/fusionscript.so"}
    assert focuspull_bmd.script_lib_candidates(env, "linux")[0] == "/custom/fusionscript.so"


def test_library_is_loaded_with_importlib_from_the_env_path(tmp_path, monkeypatch):
    lib = tmp_path / "fusionscript.so"
    lib.write_bytes(b"")
    loaded = []

    class App:
        def GetCurrentComp(self):
            return "the comp"

    class FakeModule:
        @staticmethod
        def scriptapp(name):
            return App() if name == "Fusion" else None

    monkeypatch.delitem(sys.modules, "fusionscript", raising=False)
    monkeypatch.setattr(focuspull_bmd, "load_extension", lambda name, path: loaded.append((name, path)) or FakeModule)
    module = focuspull_bmd.load_fusionscript({"RESOLVE_SCRIPT_LIB": str(lib)}, "linux")
    assert module is FakeModule and loaded == [("fusionscript", str(lib))]
    monkeypatch.setattr(focuspull_bmd, "load_fusionscript", lambda environ=None, platform=None: FakeModule)
    assert focuspull_bmd.current_comp({}) == "the comp"  # Resolve is not running: Fusion Studio answers


def test_load_extension_loads_a_real_compiled_module():
    import _bisect

    if not getattr(_bisect, "__file__", "").endswith((".so", ".pyd")):
        pytest.skip("_bisect is built into this interpreter")
    saved = sys.modules.pop("_bisect")
    try:
        module = focuspull_bmd.load_extension("_bisect", _bisect.__file__)
        assert module.bisect_left([1, 3, 5], 4) == 2
    finally:
        sys.modules["_bisect"] = saved


def test_missing_library_lists_what_was_tried(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "fusionscript", raising=False)
    env = {"RESOLVE_SCRIPT_LIB": str(tmp_path / "none.so"), "RESOLVE_SCRIPT_API": str(tmp_path / "api")}
    with pytest.raises(focuspull_bmd.HostNotFound) as info:
        focuspull_bmd.load_fusionscript(env, "linux")
    assert str(tmp_path / "none.so") in str(info.value) and "DaVinciResolveScript.py" in str(info.value)


def test_current_comp_prefers_the_scripts_own_globals():
    comp = Composition()
    assert focuspull_bmd.current_comp({"comp": comp}) is comp
    assert focuspull_bmd.current_comp({"fu": Fusion(comp)}) is comp

    class Bmd:
        def scriptapp(self, name):
            return Fusion(comp)

    assert focuspull_bmd.current_comp({"bmd": Bmd()}) is comp


# -- end to end: the real worker -----------------------------------------------------------
@pytest.mark.parametrize("upstream", ["loader", "saver"])
def test_end_to_end_with_the_real_worker(env, tmp_path, monkeypatch, write_exr, upstream):
    """32x48 RGBA+Z frames on the focal plane come back unchanged, through the Loader or a Saver."""
    import numpy as np
    import OpenImageIO as oiio

    monkeypatch.setenv("FOCUSPULL_WORKER_PYTHON", sys.executable)
    rng = np.random.default_rng(5)
    plates = {}
    (tmp_path / "plate").mkdir()
    for i, f in enumerate((1, 2, 3)):
        rgba = rng.uniform(0.0, 3.0, size=(48, 32, 4)).astype(np.float32)
        plates[1001 + i] = rgba
        pixels = np.concatenate([rgba, np.full((48, 32, 1), 4.0, np.float32)], axis=2)
        write_exr(tmp_path / "plate" / f"plate.{f:04d}.exr", pixels, ("R", "G", "B", "A", "Z"), formats="float")
    comp = Composition(1001, 1003)
    loader = add_loader(comp, tmp_path / "plate" / "plate.0001.exr")
    macro = comp.load_setting(str(SETTING))
    macro.SetInput("Output", str(tmp_path / "out" / "refocus.####.exr"))
    macro.SetInput("Device", 1)  # cpu
    macro.SetInput("PixelType", 1)  # float
    macro.SetInput("Focus", 4.0)
    macro.SetInput("Strength", 30.0)
    macro.selected = True
    if upstream == "loader":
        macro.ConnectInput("MainInput1", loader)
    else:
        comp.Lock()
        blur = comp.AddTool("Blur")
        comp.Unlock()
        blur.ConnectInput("Input", loader)
        macro.ConnectInput("MainInput1", blur)
        # Fusion would render the Blur; here the Saver writes what the Loader shows (a copy).
        comp.render_hook = lambda saver, t: (os.makedirs(os.path.dirname(saver_file(saver, t)), exist_ok=True),
                                             shutil.copy(loader.file_for_time(t), saver_file(saver, t)))
    outcomes = ff.render_selected(comp)
    assert outcomes == [(macro, None)], macro.GetInput("Status")
    result = ff.child(macro, ff.RESULT_LOADER)
    for t, rgba in plates.items():
        path = result.file_for_time(t)
        assert path is not None and os.path.isfile(path), path
        image = oiio.ImageBuf(path)
        names = list(image.spec().channelnames)
        got = image.get_pixels(oiio.FLOAT)[:, :, [names.index(c) for c in "RGBA"]]
        np.testing.assert_allclose(got, rgba, rtol=1e-6, atol=1e-6)
    expected_first = "refocus.0001.exr" if upstream == "loader" else "refocus.1001.exr"
    assert result.GetInput("Clip") == str(tmp_path / "out" / expected_first)
