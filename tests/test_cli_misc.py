"""info, schema and env: what a pipeline TD checks before a render."""

import json

import jsonschema

from focuspull.cli import main


def test_info_reports_frames_gaps_windows_and_channels(tmp_path, write_exr, capsys):
    for f in (1001, 1002, 1004):
        write_exr(tmp_path / f"p.{f}.exr", None, ("R", "G", "B", "A", "depth.Z"), size=(16, 8),
                  data_origin=(2, 1), display_window=(0, 0, 20, 10), pixel_aspect=2.0, compression="piz")
    assert main(["info", str(tmp_path / "p.$F4.exr"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames"] == "1001-1002,1004" and info["count"] == 3 and info["missing"] == "1003"
    assert info["size"] == "16x8"
    assert info["data_window"] == [2, 1, 17, 8] and info["display_window"] == [0, 0, 19, 9]
    assert list(info["channels"]) == ["R", "G", "B", "A", "depth.Z"]
    assert info["pixel_aspect"] == 2.0 and info["compression"] == "piz"


def test_info_without_frames_fails_with_the_pattern(tmp_path, capsys):
    assert main(["info", str(tmp_path / "none.####.exr")]) != 0
    assert "none.####.exr: no frames found" in capsys.readouterr().err


def test_schema_command_prints_a_valid_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == "focuspull.job/1"


def test_env_names_the_ocio_config(capsys):
    assert main(["env", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["ocio_config"] == "ocio://default" or info["OCIO"]
    assert info["torch"]


def test_import_focuspull_does_not_load_torch():
    import subprocess
    import sys

    code = "import sys, focuspull, focuspull.job, focuspull.cli; print(sorted(m for m in ('torch','numpy','OpenImageIO','PyOpenColorIO') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
