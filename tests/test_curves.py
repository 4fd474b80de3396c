"""Keyframed curves: known values of constant, linear and smooth segments."""

import json

import pytest

from focuspull.curves import Curve, Key
from focuspull.errors import CurveError


def test_constant_number_is_the_same_everywhere():
    curve = Curve.from_json(2.5)
    assert curve.evaluate([-100, 1001, 5000]) == [2.5, 2.5, 2.5]


def test_linear_interpolates_and_holds_outside_the_keys():
    curve = Curve.from_json({"keys": [[1001, 2.0, "linear"], [1011, 4.0, "linear"]]})
    assert curve.evaluate([990, 1001, 1006, 1011, 1100]) == pytest.approx([2.0, 2.0, 3.0, 4.0, 4.0])


def test_constant_key_holds_until_the_next_key():
    curve = Curve.from_json({"keys": [[1, 1.0, "constant"], [5, 9.0, "linear"]]})
    assert curve.evaluate([1, 4.99, 5]) == [1.0, 1.0, 9.0]


def test_smooth_eases_in_and_out_and_hits_the_midpoint():
    curve = Curve.from_json({"keys": [[0, 0.0, "smooth"], [10, 1.0, "smooth"]]})
    values = curve.evaluate([0, 1, 5, 9, 10])
    assert values[0] == 0.0 and values[-1] == 1.0
    assert values[2] == pytest.approx(0.5)
    # Flat tangents at both ends: slower than linear near the keys.
    assert values[1] < 0.1 and values[3] > 0.9


def test_smooth_never_overshoots_its_keys():
    curve = Curve.from_json({"keys": [[0, 0.0, "smooth"], [10, 10.0, "smooth"], [12, 10.5, "smooth"], [30, 0.0, "smooth"]]})
    values = curve.evaluate([f / 4 for f in range(0, 121)])
    assert max(values) <= 10.5 + 1e-9 and min(values) >= -1e-9
    # Monotone between the rising keys.
    rising = curve.evaluate([f / 4 for f in range(0, 49)])
    assert all(b >= a - 1e-12 for a, b in zip(rising, rising[1:]))


def test_dense_values_are_exact_on_their_frames():
    frames = list(range(1001, 1011))
    values = [f * 0.1 for f in range(10)]
    curve = Curve.from_json({"frames": frames, "values": values})
    assert curve.evaluate(frames) == pytest.approx(values)
    assert curve(1001.5) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "keys, message",
    [
        ([[1010, 1.0], [1001, 2.0]], "not sorted"),
        ([[1001, 1.0], [1001, 2.0]], "duplicate key at frame 1001"),
        ([[1001, 1.0, "bezier"]], "interpolation 'bezier'"),
    ],
)
def test_bad_keys_are_refused_with_the_frame_named(keys, message):
    with pytest.raises(CurveError, match=message):
        Curve.from_json({"keys": keys}, where="focus")


def test_cli_syntax(tmp_path):
    curve = Curve.parse_cli("1001:2.5,1040:4.0:smooth")
    assert curve.keys == (Key(1001, 2.5, "linear"), Key(1040, 4.0, "smooth"))
    assert Curve.parse_cli("3").evaluate([1, 2]) == [3.0, 3.0]
    path = tmp_path / "curve.json"
    path.write_text(json.dumps({"keys": [[1, 0.0, "linear"], [3, 2.0, "linear"]]}))
    assert Curve.parse_cli(f"@{path}")(2) == pytest.approx(1.0)


@pytest.mark.parametrize("text", ["1001:2.5,1001:3", "1040:1,1001:2", "a:b", "1001", "1001:2:3:4"])
def test_cli_syntax_errors(text):
    if text == "1001":
        assert Curve.parse_cli(text).evaluate([0]) == [1001.0]  # a bare number is a constant
        return
    with pytest.raises(CurveError, match="--focus"):
        Curve.parse_cli(text, "--focus")


def test_json_round_trip():
    curve = Curve.from_json({"keys": [[1001, 2.5, "smooth"], [1040, 4.0, "linear"]]})
    assert Curve.from_json(json.loads(json.dumps(curve.to_json()))) == curve
