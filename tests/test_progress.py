"""Progress events follow the protocol in the architecture note."""

import io
import json

from focuspull.progress import BarProgress, CallbackProgress, JsonlProgress


def test_jsonl_one_event_per_line():
    out = io.StringIO()
    p = JsonlProgress(out)
    p.start(2, 1001, 1002)
    p.frame(1001, 1, 2)
    p.frame(1002, 2, 2)
    p.done(frames=2, output="o.####.exr", seconds=1.0)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["start", "frame", "frame", "done"]
    assert events[1] == {"event": "frame", "frame": 1001, "done": 1, "total": 2}


def test_error_event_carries_code_and_message():
    got = []
    CallbackProgress(got.append).error("missing_frames", "input p.####.exr: 1 frame(s) missing: 1003")
    assert got == [{"event": "error", "code": "missing_frames", "message": "input p.####.exr: 1 frame(s) missing: 1003"}]


def test_bar_shows_frames_done_of_total():
    out = io.StringIO()
    p = BarProgress(out)
    p.start(4)
    p.frame(1002, 2, 4)
    assert "2/4" in out.getvalue() and "frame 1002" in out.getvalue()


def test_one_line_joins_library_messages_once_and_readably():
    from focuspull.errors import ImageReadError

    err = ImageReadError("cannot read a.exr: EXR Error (a.exr): end of file\nEXR Error (a.exr): end of file\n"
                         "Put them here:\n  /x/unet/\n")
    assert err.one_line() == "cannot read a.exr: EXR Error (a.exr): end of file; Put them here: /x/unet/"
