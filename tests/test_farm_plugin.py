"""The hosts' "Submit to farm" (plugin/common/focuspull_host/farm.py, the Nuke node's
button, the Fusion macro's Lua button and script) against the real worker
(``python -m focuspull farm ...``) and a fake ``deadline`` command."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from test_farm_bundle import FRAMES, fake_deadline, job_data, make_plate  # noqa: F401  (fixture)
from test_plugin_nuke import make_node, nk, plate_read  # noqa: F401  (fixture)
from test_plugin_resolve import RUNTIME_PARAMS, SETTING, add_loader, run_script

from fakes.fusion import Composition
from fakes.lua import LuaHost
from fakes.paths import RESOLVE_DIR, add_plugin_paths

add_plugin_paths()
import focuspull_host as fc  # noqa: E402
from focuspull_host import farm as ff  # noqa: E402

WORKER = [sys.executable, "-m", "focuspull"]


@pytest.fixture
def host_job(tmp_path):
    plate = make_plate(tmp_path / "plate")
    data = job_data(plate, str(tmp_path / "out" / "refocus.####.exr"), frames="1001-1007")
    data["focus"] = {"value": data["focus"]}  # as host clients write it
    data["strength"] = {"value": data["strength"]}
    return tmp_path, data


def test_submit_to_farm_exports_then_submits(host_job, fake_deadline, monkeypatch):
    root, job = host_job
    monkeypatch.setenv(ff.ENV_FARM_PYTHON, "/farm/focuspull/bin/python")
    result = ff.submit_to_farm(job, chunk_size=3, gpu=True, command=WORKER)
    job_path = root / "out" / "refocus.job.json"
    assert result.job_path == str(job_path) and json.loads(job_path.read_text()) == job
    assert result.bundle_dir == str(root / "out" / "refocus.farm")
    assert result.tasks == 3 and result.bundle["gpu"] is True
    assert result.submitted and result.job_id == "job-0123456789abcdef0123456789abcdef"
    assert json.loads(fake_deadline.read_text())[-1] == result.bundle_dir
    values = (Path(result.bundle_dir) / "parameter_values.yaml").read_text()
    assert "/farm/focuspull/bin/python" in values  # the farm's Python, not the host's worker
    assert "submitted 3 task(s)" in ff.describe_result(result)


def test_without_deadline_the_bundle_is_kept_and_the_artist_told_how_to_submit(host_job, monkeypatch):
    root, job = host_job
    monkeypatch.setenv("PATH", str(root / "no-bin"))
    monkeypatch.delenv("FOCUSPULL_DEADLINE", raising=False)
    result = ff.submit_to_farm(job, chunk_size=4, command=WORKER)
    assert not result.submitted and result.tasks == 2
    assert (Path(result.bundle_dir) / "template.yaml").is_file()
    assert "pip install deadline" in result.reason
    message = ff.describe_result(result)
    assert 'deadline bundle submit "{}"'.format(result.bundle_dir) in message
    # Asked to submit explicitly, the same set-up is an error with a hint.
    with pytest.raises(ff.FarmFailed) as err:
        ff.submit_bundle(result.bundle_dir, command=WORKER)
    assert err.value.code == "deadline_unavailable"
    assert "deadline config gui" in fc.describe_error(err.value)


def test_a_bad_shot_fails_at_export_with_the_workers_code(host_job):
    root, job = host_job
    os.remove(root / "plate" / "plate.1005.exr")
    with pytest.raises(ff.FarmFailed) as err:
        ff.submit_to_farm(job, command=WORKER, submit=False)
    assert err.value.code == "missing_frames" and "1005" in err.value.message
    assert not (root / "out" / "refocus.farm" / "template.yaml").exists()


def test_invalid_job_is_refused_before_the_worker_starts(host_job):
    _, job = host_job
    job["strength"] = {"value": "strong"}
    with pytest.raises(fc.InvalidJob, match="strength"):
        ff.submit_to_farm(job, command=["/nonexistent/python"])


def test_bundle_folder_sits_next_to_the_job():
    assert ff.bundle_dir_for("/shots/sh010/out/refocus.job.json") == "/shots/sh010/out/refocus.farm"
    assert ff.bundle_dir_for("/shots/a.json") == "/shots/a.farm"


def test_farm_python_comes_from_argument_env_then_settings(tmp_path):
    settings = tmp_path / "cfg"
    settings.mkdir()
    (settings / "worker.json").write_text(json.dumps({"python": "/w/python", "farm_python": "/farm/python"}))
    env = {"FOCUSPULL_CONFIG_DIR": str(settings)}
    assert ff.resolve_farm_python(None, env) == "/farm/python"
    assert ff.resolve_farm_python(None, {**env, ff.ENV_FARM_PYTHON: "/env/python"}) == "/env/python"
    assert ff.resolve_farm_python("/arg/python", env) == "/arg/python"
    assert ff.resolve_farm_python(None, {"FOCUSPULL_CONFIG_DIR": str(tmp_path / "none")}) is None


def test_tasks_go_to_gpu_workers_when_the_job_needs_a_gpu():
    assert ff.needs_gpu({"engine": {"name": "neural", "device": "auto"}})
    assert ff.needs_gpu({"engine": {"name": "physical", "device": "cuda"}})
    assert not ff.needs_gpu({"engine": {"name": "physical", "device": "auto"}})
    assert not ff.needs_gpu({"engine": {"name": "physical"}})


def test_installers_ship_the_farm_module_and_the_farm_script(tmp_path):
    from focuspull.install import nuke as nuke_install
    from focuspull.install import resolve as resolve_install

    nuke_files = {dest.relative_to(nuke_install.install_dir(tmp_path)).as_posix()
                  for _, dest in nuke_install.installed_files(tmp_path)}
    assert {"common/focuspull_host/farm.py", "common/focuspull_host/runs.py", "nuke/focuspull_nuke.py"} <= nuke_files
    root = resolve_install.fusion_user_dir("resolve", tmp_path, "linux")
    resolve_files = dict(resolve_install.installed_files("resolve", tmp_path, "linux"))
    assert root / "Modules" / "FocusPull" / "focuspull_host" / "farm.py" in resolve_files
    script = resolve_files[root / "Scripts" / "Comp" / "FocusPull" / "FocusPull Submit to Farm.lua"].decode()
    assert "local PLUGIN_DIR = {}".format(json.dumps(str(root / "Modules" / "FocusPull"))) in script
    assert script.rstrip().endswith('fp.run(current, "farm")')


# -- the Nuke node's "Submit to farm" button (fake nuke, real worker) -----------------------------
def farm_node(fake, plugin, tmp_path, monkeypatch, colorspace="scene_linear"):
    """A FocusPull node on a 7-frame RGBA+Z plate, focus keyed 1 -> 8 -> 3 (Nuke's smooth keys), 3 frames a task."""
    monkeypatch.setenv("FOCUSPULL_WORKER_PYTHON", sys.executable)
    monkeypatch.delenv(ff.ENV_FARM_PYTHON, raising=False)
    make_plate(tmp_path / "plate")
    node = make_node(fake, plugin, plate_read(fake, tmp_path, colorspace, FRAMES[0], FRAMES[-1]), tmp_path)
    for frame, value in ((1001, 1.0), (1004, 8.0), (1007, 3.0)):
        node["focus"].setValueAt(value, frame)
    node["strength"].setValue(6.0)
    node["device"].setValue("cpu")
    node["farm_chunk_size"].setValue(3)
    return node


def press_submit(fake, plugin, node):
    node["submit_farm"].execute()
    submission = plugin.submission_of(node)
    assert submission is not None and submission.thread is not None  # the GUI stays responsive
    assert fake.run_until(submission.finished.is_set, timeout=120), "the export did not finish"
    return submission


def test_nuke_submit_to_farm_exports_the_keyed_shot_and_submits_it(nk, tmp_path, monkeypatch, fake_deadline):
    from focuspull.farm import read_parameter_values
    from focuspull.job import Job

    fake, plugin = nk
    node = farm_node(fake, plugin, tmp_path, monkeypatch)
    submission = press_submit(fake, plugin, node)
    assert submission.error is None, fake.messages
    bundle = tmp_path / "out" / "refocus.farm"
    assert {"template.yaml", "parameter_values.yaml", "job.json"} <= {p.name for p in bundle.iterdir()}
    # the snapshot holds Nuke's curve sampled at every frame, not a re-interpolation of its keys
    frames = list(FRAMES)
    expected = [node["focus"].getValueAt(f) for f in frames]
    assert expected[3] == 8.0 and not expected[1] == pytest.approx(1.0 + (8.0 - 1.0) / 3)  # smooth, not linear
    snapshot = Job.load(bundle / "job.json")
    assert snapshot.focus.value.evaluate(frames) == pytest.approx(expected)
    raw = json.loads((bundle / "job.json").read_text())
    assert [key[0] for key in raw["focus"]["value"]["keys"]] == frames  # dense: a key at every frame
    assert snapshot.input.pattern == str(tmp_path / "plate" / "plate.####.exr")
    assert read_parameter_values(bundle)["ChunkSize"] == 3  # the node's "frames per task"
    assert json.loads(fake_deadline.read_text())[-1] == str(bundle)  # deadline bundle submit ... BUNDLE
    result = submission.result
    assert result.submitted and result.tasks == 3 and result.bundle["gpu"] is False
    assert node["status"].value() == "on the farm: job-0123456789abcdef0123456789abcdef (3 task(s))"
    assert "submitted 3 task(s) to Deadline Cloud as job-0123456789abcdef0123456789abcdef" in fake.messages[-1]
    assert json.loads((tmp_path / "out" / "refocus.job.json").read_text()) == plugin.build_plan(node).job


def test_nuke_submit_without_deadline_tells_the_artist_the_bundle_and_the_command(nk, tmp_path, monkeypatch):
    fake, plugin = nk
    node = farm_node(fake, plugin, tmp_path, monkeypatch, colorspace="sRGB")  # goes through the internal Write
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    monkeypatch.delenv("FOCUSPULL_DEADLINE", raising=False)
    written = []

    def write_exr(write, frame):  # stands in for Nuke rendering the internal Write
        target = fc.frame_path(write["file"].value(), frame)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy(tmp_path / "plate" / "plate.{}.exr".format(frame), target)
        written.append(frame)

    fake.render_hook = write_exr
    submission = press_submit(fake, plugin, node)
    assert submission.error is None, fake.messages
    assert written == list(FRAMES)  # on disk before the export resolved the shot
    bundle = tmp_path / "out" / "refocus.farm"
    assert (bundle / "template.yaml").is_file() and not submission.result.submitted
    assert node["status"].value() == "farm bundle written: {}".format(bundle)
    message = fake.messages[-1]
    assert "Not submitted" in message and "pip install deadline" in message
    assert 'deadline bundle submit "{}"'.format(bundle) in message
    assert json.loads((bundle / "job.json").read_text())["input"]["pattern"].endswith(
        "/out/_focuspull_input/FocusPull1_plate.####.exr")


def test_nuke_headless_submit_blocks_and_a_bad_shot_lands_on_the_node(nk, tmp_path, monkeypatch):
    fake, plugin = nk
    fake.GUI = False
    node = farm_node(fake, plugin, tmp_path, monkeypatch)
    os.remove(tmp_path / "plate" / "plate.1005.exr")
    submission = plugin.submit_to_farm(node)
    assert submission.finished.is_set() and submission.thread is None
    assert isinstance(submission.error, ff.FarmFailed) and submission.error.code == "missing_frames"
    assert node["status"].value().startswith("error: ") and "1005" in node["status"].value()
    assert node["status"].value().endswith("[missing_frames]")
    assert not fake.messages  # no dialogs without a GUI
    assert not (tmp_path / "out" / "refocus.farm" / "template.yaml").exists()


# -- the Fusion macro's "Submit to Farm" (fake Fusion, real worker) -------------------------------
@pytest.mark.parametrize("runtime", RUNTIME_PARAMS)
def test_fusion_submit_to_farm_lua_script_exports_and_submits_the_selected_tool(tmp_path, monkeypatch,
                                                                                fake_deadline, runtime):
    """The Lua Submit to Farm (free Resolve 21.1+) through the host package runner and the real worker."""
    from focuspull.job import Job

    lua = LuaHost(runtime)
    monkeypatch.setenv("FOCUSPULL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FOCUSPULL_WORKER_PYTHON", sys.executable)
    monkeypatch.setenv("FOCUSPULL_PLUGIN_DIR", str(RESOLVE_DIR))
    make_plate(tmp_path / "plate")
    comp = Composition(FRAMES[0], FRAMES[-1])
    loader = add_loader(comp, tmp_path / "plate" / "plate.1001.exr")
    macro = comp.load_setting(str(SETTING))
    macro.ConnectInput("MainInput1", loader)
    macro.SetInput("OutputFile", str(tmp_path / "out" / "refocus.####.exr"))
    macro.SetInput("Device", 1)  # cpu
    macro.SetInput("FarmChunkSize", 4)
    macro.animate("Focus", {1001: 1.0, 1007: 10.0})
    macro.selected = True
    run_script(lua, "FocusPull Submit to Farm.lua", comp)
    bundle = tmp_path / "out" / "refocus.farm"
    assert macro.GetInput("Status") == "on the farm: job-0123456789abcdef0123456789abcdef (2 task(s))"
    assert any("submitted 2 task(s)" in line for line in lua.printed)
    assert json.loads(fake_deadline.read_text())[-1] == str(bundle)
    snapshot = Job.load(bundle / "job.json")
    frames = list(FRAMES)
    assert snapshot.focus.value.evaluate(frames) == pytest.approx([1.0 + 1.5 * i for i in range(7)])
    assert snapshot.engine.device == "cpu" and comp.undo == ["FocusPull submit to farm"]
    # a shot the worker refuses: the error is on the tool
    os.remove(tmp_path / "plate" / "plate.1004.exr")
    run_script(lua, "FocusPull Submit to Farm.lua", comp)
    status = macro.GetInput("Status")
    assert status.startswith("error: ") and "1004" in status and status.endswith("[missing_frames]")
