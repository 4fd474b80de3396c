"""The ``focuspull`` command line.

Each subcommand lives in its own module ``focuspull.cli.<name>`` exposing
``register(subparsers)`` (adds its parser and sets ``func``). Modules must stay
light at import time: torch and friends are imported inside ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from focuspull import __version__
from focuspull.errors import FocusPullError

# Order is the order in --help. A module that is not there (yet) is skipped.
COMMANDS = ("render", "demo", "info", "schema", "env", "models", "ui", "install", "doctor", "farm")

log = logging.getLogger("focuspull")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="focuspull", description="Refocus scene-linear EXR plates with keyframed focus and strength."
    )
    parser.add_argument("--version", action="version", version=f"focuspull {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"focuspull.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"focuspull.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from focuspull.allocator import keep_freed_memory

    keep_freed_memory()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose + 1, 2)],
        format="focuspull: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except FocusPullError as err:
        # Commands that speak the progress protocol report errors themselves;
        # this is the last line for the others.
        sys.stderr.write(f"focuspull: error: {err.one_line()}\n")
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
