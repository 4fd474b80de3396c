"""``focuspull env``: versions and devices, for bug reports and pipeline TDs."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("env", help="show versions, devices and the OCIO config in use")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def collect() -> dict[str, object]:
    from focuspull import __version__

    info: dict[str, object] = {
        "focuspull": __version__,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "OCIO": os.environ.get("OCIO", ""),
    }
    for module, attr in (("numpy", "__version__"), ("torch", "__version__"), ("OpenImageIO", "__version__"),
                         ("PyOpenColorIO", "__version__"), ("diffusers", "__version__"),
                         ("transformers", "__version__"), ("PySide6", "__version__")):
        try:
            info[module] = getattr(__import__(module), attr)
        except ImportError:
            info[module] = None
    try:
        import torch

        info["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["cpu_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        from focuspull.color import ColorConfig

        config = ColorConfig.load(None)
        info["ocio_config"] = config.source
        info["scene_linear"] = config.scene_linear
    except Exception as err:  # a broken config is exactly what env must show
        info["ocio_config"] = f"error: {err}"
    return info


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
    else:
        width = max(map(len, info))
        for key, value in info.items():
            sys.stdout.write(f"{key:<{width}}  {'not installed' if value is None else value}\n")
    return 0
