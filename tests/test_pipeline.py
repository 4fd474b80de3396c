"""The staged data path end to end, on tiny synthetic plates with known answers:
each frame decoded and colour-converted once, the colour round trip, resume."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from focuspull.engines.base import Engine, EngineOutput
from focuspull.job import SCHEMA_ID, Job
from focuspull.progress import CallbackProgress

W, H = 32, 16
FRAMES = (1001, 1002, 1003)
NEAR_Z, FAR_Z = 2.0, 8.0
SRGB = "sRGB Encoded Rec.709 (sRGB)"


def plate_pixels(frame: int, rgb: np.ndarray | None = None) -> np.ndarray:
    """RGBA + Z: the left third near, the rest far."""
    rng = np.random.default_rng(frame)
    if rgb is None:
        rgb = rng.uniform(0.05, 0.7, (H, W, 3))
    z = np.where(np.arange(W)[None, :] < W // 3, NEAR_Z, FAR_Z) * np.ones((H, 1))
    return np.concatenate([rgb, np.ones((H, W, 1)), z[..., None]], -1).astype(np.float32)


def write_plate(folder: Path, write_exr) -> str:
    folder.mkdir()
    for f in FRAMES:
        write_exr(folder / f"plate.{f}.exr", plate_pixels(f), ("R", "G", "B", "A", "Z"), formats="float")
    return str(folder / "plate.####.exr")


def make_job(tmp_path: Path, plate: str, **changes) -> Job:
    data = {
        "schema": SCHEMA_ID,
        "input": {"pattern": plate},
        "depth": {"source": "channel", "channel": "Z", "kind": "depth"},
        "focus": 4.0,
        "strength": 3.0,
        "output": {"pattern": str(tmp_path / "out" / "r.####.exr"), "pixel_type": "float"},
    }
    for key, value in changes.items():
        data[key] = {**data[key], **value} if isinstance(data.get(key), dict) else value
    return Job.from_dict(data)


class GainEngine(Engine):
    """Linear light times a known gain; records the statistics it was given."""

    name = "gain"
    needs_shot_statistics = True

    def __init__(self, gain: float = 2.0) -> None:
        import torch

        super().__init__(None, None, torch.device("cpu"))
        self.gain = gain
        self.stats = None

    def begin_shot(self, stats) -> None:
        self.stats = stats

    def render(self, batch):
        rgba = batch.rgba.clone()
        rgba[:, :3] *= self.gain
        return EngineOutput(rgba=rgba)


def read_pixels(path: str) -> tuple[np.ndarray, oiio.ImageSpec]:
    buf = oiio.ImageBuf(path)
    assert not buf.has_error, buf.geterror()
    return buf.get_pixels(oiio.FLOAT), buf.spec()


# -- each input frame decoded and converted once -----------------------------------------
def test_focus_from_a_matte_decodes_and_converts_each_frame_once(tmp_path, write_exr, monkeypatch):
    import focuspull.io.header as header
    import focuspull.io.image as image_io
    import focuspull.io.sequence as sequence
    from focuspull import pipeline
    from focuspull.color import ColorConfig

    plate = write_plate(tmp_path / "plate", write_exr)
    (tmp_path / "matte").mkdir()
    matte = np.zeros((H, W), np.float32)
    matte[:, : W // 3] = 1.0  # the near third
    for f in FRAMES:
        write_exr(tmp_path / "matte" / f"m.{f}.exr", matte[..., None], ("A",), formats="float")
    job = make_job(tmp_path, plate, focus={"mode": "matte", "matte": str(tmp_path / "matte" / "m.####.exr")})

    decodes: collections.Counter[str] = collections.Counter()
    converted: collections.Counter[int] = collections.Counter()
    headers: collections.Counter[str] = collections.Counter()
    read_image, to_working, read_header = image_io.read_image, ColorConfig.to_working, header._read_header

    def counting_read(path, *args, **kwargs):
        decodes[Path(path).name] += 1
        return read_image(path, *args, **kwargs)

    def counting_to_working(self, pixels, colorspace):
        converted[pixels.shape[0]] += 1
        return to_working(self, pixels, colorspace)

    def counting_header(path, *args):
        headers[Path(path).name] += 1
        return read_header(path, *args)

    monkeypatch.setattr(image_io, "read_image", counting_read)
    monkeypatch.setattr(sequence, "read_image", counting_read)
    monkeypatch.setattr(ColorConfig, "to_working", counting_to_working)
    monkeypatch.setattr(header, "_read_header", counting_header)
    engine = GainEngine()
    monkeypatch.setattr(pipeline, "make_engine", lambda shot, device=None: engine)

    report = pipeline.render_job(job)

    assert report.frames == FRAMES
    plate_names = {f"plate.{f}.exr" for f in FRAMES}
    matte_names = {f"m.{f}.exr" for f in FRAMES}
    assert {n: c for n, c in decodes.items() if n in plate_names} == dict.fromkeys(plate_names, 1)
    assert {n: c for n, c in decodes.items() if n in matte_names} == dict.fromkeys(matte_names, 1)
    assert converted == {H: len(FRAMES)}  # one colour conversion per frame
    assert all(headers[n] == 1 for n in plate_names)  # every plate header opened once
    # the statistics the engine normalises by came from the same scan: the shot's disparity range
    assert engine.stats.disparity_min == pytest.approx(1 / FAR_Z) and engine.stats.disparity_max == pytest.approx(1 / NEAR_Z)
    assert engine.stats.frames == FRAMES
    # and the matte focus is the near third's disparity
    out = tmp_path / "out" / "r.1002.exr"
    assert oiio.ImageInput.open(str(out)).spec().get_float_attribute("focuspull/focus_disparity") == pytest.approx(1 / NEAR_Z)


def test_a_frame_store_over_budget_decodes_the_rest_again(tmp_path, write_exr, monkeypatch):
    """The store is bounded: frames past the budget are read again for the render, correctly."""
    import focuspull.io.sequence as sequence
    from focuspull import pipeline

    plate = write_plate(tmp_path / "plate", write_exr)
    job = make_job(tmp_path, plate, focus={"mode": "point", "x": 4.0, "y": 8.0})
    decodes: collections.Counter[str] = collections.Counter()
    read_image = sequence.read_image
    monkeypatch.setattr(sequence, "read_image", lambda p, *a: decodes.update([Path(p).name]) or read_image(p, *a))

    one_frame = W * H * (5 + 4 + 1) * 4
    store = pipeline.FrameStore(budget_bytes=one_frame)
    shot = pipeline.prepare(job, store=store)
    assert store.frames() == {1001}
    engine = GainEngine()
    pipeline.render_shot(shot, engine=engine, store=store)
    assert decodes == {"plate.1001.exr": 1, "plate.1002.exr": 2, "plate.1003.exr": 2}
    for f in FRAMES:
        got, _ = read_pixels(str(tmp_path / "out" / f"r.{f}.exr"))
        np.testing.assert_allclose(got[..., :3], plate_pixels(f)[..., :3] * 2, rtol=1e-6)


# -- colour: a non-linear plate comes back in its own space --------------------------------
def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def test_an_srgb_plate_is_rendered_in_linear_light_and_written_back_in_srgb(tmp_path, write_exr, monkeypatch):
    """Known answer: a gain of 2 applied in scene-linear (ACEScg) light is a gain of 2 in
    linear Rec.709, so an sRGB-encoded value v comes back as srgb(2 * linear(v)). Without the
    input conversion the gain would act on encoded values; without the output one the file
    would hold linear values."""
    from focuspull import pipeline

    monkeypatch.delenv("OCIO", raising=False)  # OCIO's built-in ACES config: working space ACEScg
    plate = write_plate(tmp_path / "plate", write_exr)
    job = make_job(tmp_path, plate, input={"colorspace": SRGB})
    monkeypatch.setattr(pipeline, "make_engine", lambda shot, device=None: GainEngine(2.0))

    pipeline.render_job(job)

    for f in FRAMES:
        got, spec = read_pixels(str(tmp_path / "out" / f"r.{f}.exr"))
        encoded = plate_pixels(f)[..., :3].astype(np.float64)
        expected = _linear_to_srgb(2.0 * _srgb_to_linear(encoded))
        np.testing.assert_allclose(got[..., :3], expected, atol=2e-4)
        np.testing.assert_array_equal(got[..., 3:], plate_pixels(f)[..., 3:])  # alpha and Z untouched
        # OpenImageIO stores its interop name for the space (srgb_rec709_scene)
        assert spec.get_string_attribute("oiio:ColorSpace") in (SRGB, "srgb_rec709_scene")


# -- resume: without the farm extra ----------------------------------------------------------
def test_resume_skips_only_frames_this_job_wrote_completely(tmp_path, write_exr):
    from focuspull.pipeline import render_job

    plate = write_plate(tmp_path / "plate", write_exr)
    job = make_job(tmp_path, plate)
    render_job(job)
    out = tmp_path / "out"
    reference = {f: (out / f"r.{f}.exr").read_bytes() for f in FRAMES}

    # 1002: written by another version of the job; 1003: truncated after its header
    other = make_job(tmp_path, plate, strength=5.0, output={"pattern": str(tmp_path / "other" / "r.####.exr")})
    render_job(other, chunk=(1002, 1002))
    (out / "r.1002.exr").write_bytes((tmp_path / "other" / "r.1002.exr").read_bytes())
    (out / "r.1003.exr").write_bytes(reference[1003][: len(reference[1003]) // 2])
    before = (out / "r.1001.exr").stat()

    events = []
    report = render_job(job, resume=True, progress=CallbackProgress(events.append))

    assert report.frames == (1002, 1003)
    start = next(e for e in events if e["event"] == "start")
    assert start["total"] == 2
    now = (out / "r.1001.exr").stat()
    assert (now.st_ino, now.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    for f in FRAMES:
        assert (out / f"r.{f}.exr").read_bytes() == reference[f], f
    # everything done: a second resume writes nothing
    assert render_job(job, resume=True).frames == ()
