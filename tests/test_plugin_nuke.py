"""The Nuke node against a fake ``nuke`` module and a fake (or the real) worker."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import pytest

from fakes.paths import COMMON, NUKE_DIR, add_plugin_paths
from fakes.worker import gone_within, use_fake_worker

add_plugin_paths()
import focuspull_host as fc  # noqa: E402


@pytest.fixture
def nk(tmp_path, monkeypatch):
    """(fake nuke, focuspull_nuke) with an empty script and no worker configured."""
    from fakes import nuke as fake

    fake.reset()
    monkeypatch.setitem(sys.modules, "nuke", fake)
    monkeypatch.setenv("FOCUSPULL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("FOCUSPULL_WORKER_PYTHON", raising=False)
    sys.modules.pop("focuspull_nuke", None)
    plugin = importlib.import_module("focuspull_nuke")
    yield fake, plugin
    sys.modules.pop("focuspull_nuke", None)
    fake.reset()


def plate_read(fake, tmp_path: Path, colorspace: str = "scene_linear", first: int = 1001, last: int = 1003):
    read = fake.nodes.Read(file=str(tmp_path / "plate" / "plate.####.exr"), first=first, last=last,
                           origfirst=first, origlast=last)
    read["colorspace"].setValue(colorspace)
    return read


def make_node(fake, plugin, read, tmp_path: Path):
    node = plugin.build_group()
    node.setInput(0, read)
    node["output"].setValue(str(tmp_path / "out" / "refocus.####.exr"))
    return node


# -- init.py / menu.py ---------------------------------------------------------------
def test_init_adds_common_and_menu_adds_a_node_command(nk, tmp_path):
    fake, plugin = nk
    fake.pluginAddPath(str(NUKE_DIR), addToSysPath=False)
    exec(compile((NUKE_DIR / "init.py").read_text(), "init.py", "exec"), {"__name__": "__main__"})
    assert str(COMMON) in [os.path.normpath(p) for p in fake.pluginPath()]
    assert fake.menus == {}  # init.py is headless-safe: no UI
    exec(compile((NUKE_DIR / "menu.py").read_text(), "menu.py", "exec"), {"__name__": "__main__"})
    item = fake.menu("Nodes").findItem("FocusPull/FocusPull")
    assert item is not None
    read = plate_read(fake, tmp_path)
    read.setSelected(True)
    item.invoke()
    node = fake.selectedNodes()[-1]
    assert plugin.is_focuspull(node) and node.input(0) is read and not read.isSelected()


def test_menu_command_makes_the_node_in_the_group_the_artist_works_in(nk, tmp_path):
    fake, plugin = nk
    outer = fake.nodes.Group(name="Comp")
    fake._last_hit = outer  # the artist last clicked inside Comp's node graph
    node = plugin.create_node()
    assert node.parent() is outer and node.fullName() == "Comp.FocusPull1"
    assert fake.thisGroup() is fake.root()  # the context is restored
    fake._last_hit = None
    assert plugin.create_node().parent() is fake.root()


def test_install_root_of_nuke_per_platform(nk):
    _, plugin = nk
    assert plugin.install_root("/opt/Nuke15.1v1/Nuke15.1") == "/opt/Nuke15.1v1"
    assert plugin.install_root("/Applications/Nuke15.1v1/Nuke15.1v1.app/Contents/MacOS/Nuke15.1") == \
        "/Applications/Nuke15.1v1/Nuke15.1v1.app"  # the bundle: its libraries are in Contents/Frameworks


def test_relative_paths_are_taken_from_the_project_directory(nk, tmp_path):
    fake, plugin = nk
    fake.root()["project_directory"].setValue(str(tmp_path))
    read = fake.nodes.Read(file="plate/plate.####.exr", first=1001, last=1003, origfirst=1001, origlast=1003)
    read["colorspace"].setValue("scene_linear")
    node = plugin.build_group()
    node.setInput(0, read)
    node["output"].setValue("out/refocus.####.exr")
    job = plugin.build_plan(node).job
    assert job["input"]["pattern"] == str(tmp_path / "plate" / "plate.####.exr")
    assert job["output"]["pattern"] == str(tmp_path / "out" / "refocus.####.exr")
    fake.root()["project_directory"].setValue("")
    fake.root()["name"].setValue(str(tmp_path / "comp" / "shot.nk"))  # no project directory: the script's folder
    assert plugin.build_plan(node).job["output"]["pattern"] == str(tmp_path / "comp" / "out" / "refocus.####.exr")


def test_node_layout(nk):
    fake, plugin = nk
    node = plugin.build_group()
    names = [k.name() for k in node.allKnobs()]
    for name in ("engine", "device", "depth_channel", "depth_kind", "focus_mode", "focus", "focus_point",
                 "strength", "aperture_shape", "output", "pixel_type", "frames", "farm_chunk_size", "render",
                 "submit_farm", "cancel", "status"):
        assert name in names, name
    # one row: Render | Submit to farm | Cancel, then the status line
    assert names.index("render") + 1 == names.index("submit_farm") == names.index("cancel") - 1
    assert names.index("cancel") < names.index("status")
    assert node["submit_farm"].label() == "Submit to farm" and not node["submit_farm"].getFlag(fake.STARTLINE)
    assert "focuspull_nuke.on_submit_to_farm()" in node["submit_farm"].command()
    assert node["farm_chunk_size"].value() == 10 and node["farm_chunk_size"].getFlag(fake.NO_ANIMATION)
    from focuspull.aperture import APERTURE_SHAPES

    from focuspull.job import DEPTH_KINDS

    # the menus offer what the core offers, read from the shipped schema
    assert node["aperture_shape"].values() == list(APERTURE_SHAPES)
    assert node["depth_kind"].values() == list(DEPTH_KINDS)
    assert node["focus_mode"].values()[:4] == ["auto", "distance", "disparity", "point"]
    assert "lens" in node["strength_mode"].values()
    for option in ("focus_window_px", "focus_track", "strength_f_stop", "strength_focal_length_mm",
                   "aperture_rotation_deg", "depth_model"):
        assert option in names, option
    assert [n.Class() for n in node.nodes()].count("Input") == 3 and node.maxInputs() == 3
    assert node.node(plugin.PLATE_WRITE)["disable"].value() is True


def test_more_actions_can_join_the_button_row(nk):
    fake, plugin = nk
    old = plugin.build_group()
    plugin.register_action("publish", "Publish", "pass", after="render")
    try:
        new = plugin.build_group()
        names = [k.name() for k in new.allKnobs()]
        assert names.index("render") < names.index("publish") < names.index("submit_farm") < names.index("cancel")
        plugin.ensure_actions(old)  # nodes from older scripts get the new button too
        assert old.knob("publish") is not None
    finally:
        plugin.ACTIONS[:] = [a for a in plugin.ACTIONS if a.name != "publish"]


# -- the job -------------------------------------------------------------------------------------
def test_animated_knobs_become_dense_per_frame_values(nk, tmp_path):
    from focuspull.job import Job

    fake, plugin = nk
    read = plate_read(fake, tmp_path, first=1001, last=1005)
    node = make_node(fake, plugin, read, tmp_path)
    focus = node["focus"]
    focus.setValueAt(2.0, 1001)
    focus.setValueAt(6.0, 1005)
    focus.animation(0).changeInterpolation(focus.animation(0).keys(), fake.LINEAR)
    strength = node["strength"]
    for frame, value in ((1001, 0.0), (1003, 12.0), (1005, 4.0)):  # Nuke's default: smooth keys
        strength.setValueAt(value, frame)
    node["engine"].setValue("neural")
    node["device"].setValue("cpu")
    node["engine_options"].setValue('{"steps": 1}')

    plan = plugin.build_plan(node)
    job = plan.job
    frames = [1001, 1002, 1003, 1004, 1005]
    assert job["input"] == {"pattern": str(tmp_path / "plate" / "plate.####.exr"), "frames": "1001-1005"}
    assert job["focus"]["value"] == {"frames": frames, "values": [2.0, 3.0, 4.0, 5.0, 6.0]}
    expected_strength = [strength.getValueAt(f) for f in frames]
    assert job["strength"]["value"] == {"frames": frames, "values": expected_strength}
    assert expected_strength[0] == 0.0 and expected_strength[2] == 12.0 and 0.0 < expected_strength[1] < 12.0
    assert job["engine"] == {"name": "neural", "options": {"steps": 1}, "device": "cpu"}
    assert job["depth"] == {"source": "channel", "kind": "depth"}
    assert plan.sources[0].needs_write is None  # a scene-linear EXR Read is used as it is

    parsed = Job.from_dict(job)  # the core reads the same values back at every frame
    assert parsed.strength.value.evaluate(frames) == pytest.approx(expected_strength)
    assert parsed.focus_mode == "distance"


def test_constant_knobs_are_sent_as_numbers(nk, tmp_path):
    fake, plugin = nk
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    node["focus"].setValue(3.5)
    node["frames"].setValue("1001-1003x2")
    job = plugin.build_plan(node).job
    assert job["focus"]["value"] == 3.5 and job["strength"]["value"] == 10.0
    assert job["input"]["frames"] == "1001,1003"


def test_depth_input_and_disparity_convention(nk, tmp_path):
    fake, plugin = nk
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    depth = fake.nodes.Read(file=str(tmp_path / "depth" / "disp.%04d.exr"), first=1001, last=1003)
    depth["raw"].setValue(True)
    node.setInput(1, depth)
    node["depth_kind"].setValue("disparity")
    node["depth_channel"].setValue("disparity.x")
    job = plugin.build_plan(node).job
    assert job["depth"] == {"source": "sequence", "kind": "disparity", "channel": "disparity.x",
                            "pattern": str(tmp_path / "depth" / "disp.####.exr")}


def test_depth_conditioning_knobs_can_force_stabilisation_off_and_highlights_auto(nk, tmp_path):
    """Stabilisation is a menu (auto/on/off) beside its weight: estimated depth, which is stabilised by
    default, can be left alone; engine options carry highlight_gain "auto"."""
    from focuspull.depth_conditioning import ConditioningSteps
    from focuspull.job import Job

    fake, plugin = nk
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    assert node["depth_stabilize"].values() == ["auto", "on", "off"]
    node["depth_source"].setValue("estimate")
    node["depth_stabilize"].setValue("off")
    node["engine_options"].setValue('{"highlight_gain": "auto"}')
    job = plugin.build_plan(node).job
    assert job["depth"]["stabilize"] == "off" and job["engine"]["options"] == {"highlight_gain": "auto"}
    assert ConditioningSteps.for_depth(Job.from_dict(job).depth).stabilize == 0.0
    node["depth_stabilize"].setValue("on")
    node["depth_stabilize_weight"].setValue(0.7)
    job = plugin.build_plan(node).job
    assert (job["depth"]["stabilize"], job["depth"]["stabilize_weight"]) == ("on", 0.7)
    assert ConditioningSteps.for_depth(Job.from_dict(job).depth).stabilize == 0.7


def test_non_linear_input_goes_through_the_internal_write(nk, tmp_path):
    fake, plugin = nk
    read = plate_read(fake, tmp_path, colorspace="sRGB")
    node = make_node(fake, plugin, read, tmp_path)
    plan = plugin.build_plan(node)
    plate = plan.sources[0]
    write = node.node(plugin.PLATE_WRITE)
    assert plate.needs_write is write
    assert plan.job["input"]["pattern"] == plate.pattern == write["file"].value()
    assert plate.pattern.startswith(str(tmp_path / "out" / "_focuspull_input"))
    assert write["file_type"].value() == "exr" and write["colorspace"].value() == "scene_linear"
    assert write["channels"].value() == "all"  # depth.Z travels with the plate

    rendered = []

    def hook(w, frame):
        assert w["disable"].value() is False
        rendered.append((w.name(), frame))

    fake.render_hook = hook
    plugin.render_sources(plan.sources, [1001, 1002, 1003, 1007])
    assert rendered == [(plugin.PLATE_WRITE, f) for f in (1001, 1002, 1003, 1007)]
    assert write["disable"].value() is True


@pytest.mark.parametrize("colorspace, linear", [("default (scene_linear)", True), ("ACES - ACEScg", True),
                                                ("linear", True), ("sRGB", False), ("ACES - ACEScct", False),
                                                ("Linear Rec.709 (sRGB)", True), ("Cineon", False)])
def test_scene_linear_names(nk, colorspace, linear):
    assert nk[1].is_scene_linear(colorspace) is linear


def test_focus_point_mode_sends_the_point_per_frame(nk, tmp_path):
    from focuspull.job import Job

    fake, plugin = nk
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    node["focus_mode"].setValue("point")
    point = node["focus_point"]
    point.setValue([10.0, 24.0])
    point.setValueAt(10.0, 1001, 0)
    point.setValueAt(30.0, 1003, 0)
    point.animation(0).changeInterpolation(point.animation(0).keys(), fake.LINEAR)
    node["focus_track"].setValue(True)
    job = plugin.build_plan(node).job
    assert job["focus"] == {"mode": "point", "x": {"frames": [1001, 1002, 1003], "values": [10.0, 20.0, 30.0]},
                            "y": 24.0, "origin": "bottom_left", "track": True}
    assert Job.from_dict(job).focus.track is True


def test_matte_estimate_and_lens_modes_validate_in_the_core(nk, tmp_path):
    from focuspull.job import Job

    fake, plugin = nk
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    matte = fake.nodes.Read(file=str(tmp_path / "matte" / "subject.####.exr"), first=1001, last=1003)
    matte["colorspace"].setValue("sRGB")  # a matte is data: read as stored
    node.setInput(plugin.MATTE_INPUT, matte)
    node["focus_mode"].setValue("matte")
    node["depth_source"].setValue("estimate")
    node["strength_mode"].setValue("lens")
    node["strength_focal_length_mm"].setValue(50.0)
    f_stop = node["strength_f_stop"]
    f_stop.setValueAt(2.8, 1001)
    f_stop.setValueAt(5.6, 1003)
    node["strength_filmback_width_mm"].setValue(36.0)
    plan = plugin.build_plan(node)
    job = plan.job
    assert job["focus"] == {"mode": "matte", "matte": str(tmp_path / "matte" / "subject.####.exr")}
    assert job["depth"] == {"source": "estimate"}
    assert job["strength"]["mode"] == "lens" and "value" not in job["strength"]
    assert job["strength"]["focal_length_mm"] == 50.0 and job["strength"]["filmback_width_mm"] == 36.0
    assert job["strength"]["f_stop"]["values"][0] == 2.8 and job["strength"]["f_stop"]["values"][-1] == 5.6
    parsed = Job.from_dict(job)
    assert parsed.depth.kind == "normalized_disparity" and parsed.strength.f_stop.evaluate([1001])[0] == 2.8
    assert [s.needs_write for s in plan.sources] == [None, None]


def test_bad_settings_are_reported_on_the_node(nk, tmp_path):
    fake, plugin = nk
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    node["engine_options"].setValue("{planes: 3")
    with fake.this_node(node):
        plugin.on_render()
    assert node["status"].value().startswith("error: engine options: not valid JSON")
    assert "[invalid_job]" in fake.messages[-1]
    node.setInput(0, None)
    with fake.this_node(node):
        plugin.on_render()
    assert "connect a plate" in node["status"].value()


def test_render_without_a_configured_worker_says_how_to_fix_it(nk, tmp_path):
    fake, plugin = nk
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    node["render"].execute()
    assert "[worker_not_configured]" in fake.messages[-1]
    assert "focuspull install nuke" in fake.messages[-1]
    assert not fake.progress_tasks


def test_submit_to_farm_without_a_configured_worker_says_how_to_fix_it(nk, tmp_path):
    fake, plugin = nk
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    node["submit_farm"].execute()
    assert node["status"].value() == ("error: no worker Python is configured (neither $FOCUSPULL_WORKER_PYTHON nor "
                                      "{}) [worker_not_configured]".format(tmp_path / "config" / "worker.json"))
    assert "focuspull install nuke" in fake.messages[-1]
    assert plugin.submission_of(node) is None  # refused before anything started
    assert not (tmp_path / "out").exists()


def test_submit_to_farm_refuses_a_node_that_is_still_submitting(nk, tmp_path, monkeypatch):
    fake, plugin = nk
    use_fake_worker(tmp_path, monkeypatch)
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    running = fc.BackgroundRun(node.fullName(), {"output": {"pattern": "/o/x.####.exr"}}, action="farm")
    plugin._runs[(node.fullName(), "farm")] = running  # an export still on its thread
    node["submit_farm"].execute()
    assert "already being submitted to the farm [busy]" in fake.messages[-1]
    assert plugin.submission_of(node) is running


# -- rendering with the fake worker -------------------------------------------------------
def test_render_in_the_gui_runs_on_a_thread_and_shows_the_result(nk, tmp_path, monkeypatch):
    fake, plugin = nk
    record = use_fake_worker(tmp_path, monkeypatch)
    read = plate_read(fake, tmp_path, colorspace="ACES - ACEScg")
    node = make_node(fake, plugin, read, tmp_path)
    node["render"].execute()
    session = plugin.session_of(node)
    assert session is not None and session.thread is not None
    assert fake.run_until(session.finished.is_set, timeout=30)
    assert session.error is None, session.error
    task = fake.progress_tasks[-1]
    assert task.thread is session.thread  # the progress bar belongs to the render thread
    assert task.progress[-1] == 100 and any("frame 1002 (2/3)" in m for m in task.message_log)
    result = node.node(plugin.INNER_READ)
    assert result["file"].value() == str(tmp_path / "out" / "refocus.####.exr")
    assert (result["first"].value(), result["last"].value()) == (1001, 1003)
    assert result["colorspace"].value() == "ACES - ACEScg"  # rendered in the plate's own space
    assert node.node(plugin.INNER_SWITCH)["which"].value() == 1
    assert node["status"].value().startswith("rendered 3 frame(s)")
    sent = json.loads(record.read_text())["job"]
    assert sent == json.loads((tmp_path / "out" / "refocus.job.json").read_text())


def test_worker_failure_reaches_the_artist_as_a_message(nk, tmp_path, monkeypatch):
    fake, plugin = nk
    use_fake_worker(tmp_path, monkeypatch, mode="error")
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    session = plugin.render(node)
    assert fake.run_until(session.finished.is_set, timeout=30)
    assert node["status"].value() == "error: plate.1002.exr is missing [missing_frames]"
    assert "every input frame exists" in fake.messages[-1]
    assert node.node(plugin.INNER_SWITCH)["which"].value() == 0  # still showing the plate


def test_cancel_button_stops_the_worker(nk, tmp_path, monkeypatch):
    fake, plugin = nk
    use_fake_worker(tmp_path, monkeypatch, mode="hang")
    monkeypatch.setenv("FAKE_WORKER_PIDS", str(tmp_path / "pids.json"))
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    session = plugin.render(node)
    assert fake.run_until(lambda: node["status"].value().startswith("frame"), timeout=30)
    node["cancel"].execute()
    assert fake.run_until(session.finished.is_set, timeout=30)
    assert node["status"].value().startswith("cancelled: render cancelled after 1 of 3")
    assert not any("uncaught" in m for m in fake.messages)
    child = json.loads((tmp_path / "pids.json").read_text())["child"]
    assert gone_within(child)


def test_progress_task_cancel_also_stops_it(nk, tmp_path, monkeypatch):
    fake, plugin = nk
    use_fake_worker(tmp_path, monkeypatch, mode="hang")
    monkeypatch.setenv("FAKE_WORKER_PIDS", str(tmp_path / "pids.json"))
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    session = plugin.render(node)
    assert fake.run_until(lambda: bool(fake.progress_tasks) and bool(fake.progress_tasks[-1].message_log), timeout=30)
    fake.progress_tasks[-1].request_cancel()
    assert fake.run_until(session.finished.is_set, timeout=30)
    assert node["status"].value().startswith("cancelled")


def test_headless_render_blocks_and_needs_no_event_loop(nk, tmp_path, monkeypatch):
    fake, plugin = nk
    use_fake_worker(tmp_path, monkeypatch)
    fake.GUI = False
    node = make_node(fake, plugin, plate_read(fake, tmp_path), tmp_path)
    session = plugin.render(node)
    assert session.finished.is_set() and session.thread is None and not fake.progress_tasks
    assert node.node(plugin.INNER_SWITCH)["which"].value() == 1


# -- end to end: the real worker ---------------------------------------------------------------
def test_end_to_end_with_the_real_worker(nk, tmp_path, monkeypatch, write_exr):
    """A 32x48 RGBA+Z plate at z = 2 with a keyed focus pull 2 -> 1: frame 1001 is on the focal plane
    and comes back unchanged; later frames are blurred more and more (radius 0, ~3.3, 10 px)."""
    np = pytest.importorskip("numpy")
    import OpenImageIO as oiio

    fake, plugin = nk
    monkeypatch.setenv("FOCUSPULL_WORKER_PYTHON", sys.executable)
    rng = np.random.default_rng(3)
    frames = (1001, 1002, 1003)
    plates = {}
    (tmp_path / "plate").mkdir()
    for f in frames:
        rgba = rng.uniform(0.0, 2.0, size=(48, 32, 4)).astype(np.float32)
        z = np.full((48, 32, 1), 2.0, np.float32)
        plates[f] = rgba
        write_exr(tmp_path / "plate" / f"plate.{f}.exr", np.concatenate([rgba, z], axis=2), ("R", "G", "B", "A", "Z"),
                  formats="float")
    read = plate_read(fake, tmp_path)
    node = make_node(fake, plugin, read, tmp_path)
    focus = node["focus"]
    focus.setValueAt(2.0, 1001)
    focus.setValueAt(1.0, 1003)
    focus.animation(0).changeInterpolation(focus.animation(0).keys(), fake.LINEAR)
    node["strength"].setValue(20.0)
    node["device"].setValue("cpu")
    node["pixel_type"].setValue("float")
    session = plugin.render(node)
    assert fake.run_until(session.finished.is_set, timeout=240), "worker did not finish"
    assert session.error is None, fake.messages
    result = node.node(plugin.INNER_READ)
    assert result["file"].value() == str(tmp_path / "out" / "refocus.####.exr")
    assert (result["first"].value(), result["last"].value()) == (1001, 1003)
    assert node["status"].value().startswith("rendered 3 frame(s)")
    spread = {}
    for f in frames:
        image = oiio.ImageBuf(str(tmp_path / "out" / f"refocus.{f}.exr"))
        assert (image.spec().width, image.spec().height) == (32, 48)
        names = list(image.spec().channelnames)
        rgb = image.get_pixels(oiio.FLOAT)[:, :, [names.index(c) for c in ("R", "G", "B")]]
        if f == 1001:
            np.testing.assert_allclose(rgb, plates[f][:, :, :3], rtol=1e-6, atol=1e-6)  # on the focal plane
        spread[f] = float(rgb[8:-8, 8:-8].std() / plates[f][8:-8, 8:-8, :3].std())
    assert spread[1001] == pytest.approx(1.0, abs=1e-5)
    assert spread[1003] < spread[1002] < 0.9  # the per-frame focus values reached the engine in order


# -- every Python of the Nukes we claim ---------------------------------------------------------
NUKE_PYTHONS = {"Nuke 13": (3, 7), "Nuke 14": (3, 9), "Nuke 15": (3, 10), "Nuke 16": (3, 11)}
PROBE = """
import json, sys
tests, common, nuke_dir, tmp = sys.argv[1:5]
sys.path[:0] = [tests, common, nuke_dir]
from fakes import nuke as fake
sys.modules["nuke"] = fake
import focuspull_nuke as fn
read = fake.nodes.Read(file=tmp + "/plate.####.exr", first=1001, last=1003, origfirst=1001, origlast=1003)
read["colorspace"].setValue("scene_linear")
group = fn.build_group()
group.setInput(0, read)
group["output"].setValue(tmp + "/out/r.####.exr")
for frame, value in ((1001, 1.0), (1003, 3.0)):
    group["focus"].setValueAt(value, frame)
group["aperture_shape"].setValue("polygon")
print(json.dumps({"version": list(sys.version_info[:2]), "job": fn.build_plan(group).job}))
"""


@pytest.mark.parametrize("host", sorted(NUKE_PYTHONS))
def test_the_node_builds_its_job_on_each_claimed_nukes_python(tmp_path, host):
    import subprocess

    version = NUKE_PYTHONS[host]
    found = sorted((Path.home() / ".pyenv" / "versions").glob("{}.{}.*/bin/python".format(*version)))
    if not found:
        pytest.skip("no Python {}.{} under ~/.pyenv/versions".format(*version))
    tests = Path(__file__).resolve().parent
    proc = subprocess.run([str(found[-1]), "-c", PROBE, str(tests), str(COMMON), str(NUKE_DIR), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["version"] == list(version)
    job = out["job"]
    assert job["focus"]["value"]["frames"] == [1001, 1002, 1003] and job["focus"]["value"]["values"][0] == 1.0
    assert job["aperture"] == {"shape": "polygon"} and job["input"]["pattern"] == str(tmp_path / "plate.####.exr")
