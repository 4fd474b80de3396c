"""Chunk seams with an engine that needs temporal context, through ``openjd run``.

A stand-in temporal engine (each output frame is the mean of the input frames
within +-2 of it, like a clip cross-fade it needs its neighbours) is put into
the worker processes with a ``sitecustomize`` on PYTHONPATH. Rendered in
three chunks by three worker processes, every frame must equal the
single-process render exactly: each task reads the context frames around its
chunk and writes only its own frames.
"""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
from test_farm_bundle import FRAMES, chunk_frames, make_plate, write_job
from test_farm_openjd import output_files, render_reference, run_openjd, task_chunks

import focuspull.engines
from focuspull.farm import FarmSettings, export_bundle
from focuspull.job import Job

pytest.importorskip("openjd.cli", reason="needs openjd-cli: pip install focuspull[farm]")

ENGINE_MODULE = textwrap.dedent('''
    """A temporal stand-in engine for the farm tests (not part of focuspull)."""
    from dataclasses import dataclass

    import torch

    from focuspull.engines.base import Engine, EngineOutput


    @dataclass(frozen=True)
    class WindowMeanOptions:
        pass


    class WindowMeanEngine(Engine):
        name = "window_mean"
        context_frames = 2

        def render(self, batch):
            return next(self.render_stream(iter([batch])))

        def render_stream(self, batches):
            frames = [b.rgba[t] for b in batches for t in range(b.num_frames)]
            n, k = len(frames), self.context_frames
            out = [torch.stack(frames[max(0, i - k) : i + k + 1]).mean(0) for i in range(n)]
            yield EngineOutput(rgba=torch.stack(out))
''')

SITECUSTOMIZE = textwrap.dedent('''
    import focuspull.engines
    focuspull.engines._ENGINES["window_mean"] = ("fp_window_mean", "WindowMeanEngine", "WindowMeanOptions")
''')


@pytest.fixture
def window_mean_engine(tmp_path, monkeypatch):
    folder = tmp_path / "engine"
    folder.mkdir()
    (folder / "fp_window_mean.py").write_text(ENGINE_MODULE)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    # Here (the single-process reference) and in every openjd task (inherits the environment).
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setitem(focuspull.engines._ENGINES, "window_mean",
                        ("fp_window_mean", "WindowMeanEngine", "WindowMeanOptions"))
    monkeypatch.setenv("PYTHONPATH", str(folder))


def test_chunks_read_their_context_so_seams_equal_a_single_render(tmp_path, window_mean_engine):
    from focuspull.pipeline import render_job

    plate = make_plate(tmp_path / "plate")
    job = write_job(tmp_path / "job.json", plate, str(tmp_path / "out" / "refocus.####.exr"), engine="window_mean")
    bundle = tmp_path / "bundle"
    export_bundle(job, bundle, FarmSettings(chunk_size=3, worker_python=sys.executable))
    reference = render_reference(bundle, tmp_path / "reference")

    done = run_openjd(bundle)
    chunks = task_chunks(done.stdout)
    assert len(chunks) == 3
    written = output_files(tmp_path / "out")
    assert sorted(written) == list(FRAMES)
    for frame, path in written.items():
        assert path.read_bytes() == reference[frame], f"frame {frame} differs at a chunk seam"

    # The test has teeth: the last frame of the first chunk, rendered without the
    # frames after it, is not the frame the shot render made.
    seam = chunk_frames(chunks[0])[-1]
    data = Job.load(bundle / "job.json").to_dict()
    data["output"]["pattern"] = str(tmp_path / "alone" / "refocus.####.exr")
    render_job(Job.from_dict(data), frames=chunk_frames(chunks[0]))
    alone = pixels(output_files(tmp_path / "alone")[seam])
    shot = pixels(written[seam])
    assert np.abs(alone - shot).max() > 0.01


def pixels(path) -> np.ndarray:
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(str(path))
    assert not buf.has_error, buf.geterror()
    return buf.get_pixels(oiio.FLOAT)
