"""``focuspull install nuke``: put the FocusPull node on Nuke's plugin path.

Copy mode (default) copies ``plugin/nuke`` and ``plugin/common`` (the Nuke
modules; the host package ``focuspull_host`` and the job schema) to
``~/.nuke/focuspull/{nuke,common}`` and adds a marked block to
``~/.nuke/init.py`` that calls ``nuke.pluginAddPath`` on the copy; Nuke then
runs the plugin's own ``init.py`` (headless-safe: it only adds ``common``) and,
in the GUI, its ``menu.py``. Link mode points the block at the installed
package instead (updates with ``pip``). Studios can instead put
``<site-packages>/focuspull/plugin/nuke`` on ``NUKE_PATH``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from focuspull.install.common import (
    EditBlock,
    Plan,
    RemoveFile,
    WorkerSettings,
    WriteFile,
    common_files,
    plugin_file_bytes,
    plugin_root,
    settings_file,
)


def _plugin_files(folder: Path) -> list[str]:
    """Every module and data file of a plugin folder (new shared modules come along by themselves)."""
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".py", ".json") and p.is_file())


def default_nuke_home(platform: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The ``.nuke`` folder Nuke itself reads (Foundry, "Loading Gizmos, NDK Plug-ins, and Python and
    Tcl Scripts"): on Windows under ``%HOME%`` when HOME is set, else under ``%USERPROFILE%``;
    elsewhere under ``$HOME``. ``Path.home()`` ignores HOME on Windows, so it is not used first."""
    env = os.environ if environ is None else environ
    name = platform or sys.platform
    if name.startswith("win"):
        base = env.get("HOME") or env.get("USERPROFILE")
    else:
        base = env.get("HOME")
    return Path(base or str(Path.home())) / ".nuke"


def nuke_home(home: Path | None = None) -> Path:
    """``home/.nuke`` for an explicit home (``--home``), else where Nuke looks."""
    return Path(home) / ".nuke" if home is not None else default_nuke_home()


def install_dir(home: Path | None = None) -> Path:
    return nuke_home(home) / "focuspull"


def init_block(plugin_dir: Path) -> str:
    return (
        "# Added by `focuspull install nuke`; remove with `focuspull install nuke --uninstall`.\n"
        "import nuke\n"
        f"nuke.pluginAddPath({plugin_dir.as_posix()!r})\n"
    )


def installed_files(home: Path | None = None) -> list[tuple[Path, Path]]:
    """(source in the package, destination) for every file copy mode installs."""
    src, dest = plugin_root(), install_dir(home)
    files = [(src / "nuke" / name, dest / "nuke" / name) for name in _plugin_files(src / "nuke")]
    return files + [(src / "common" / rel, dest / "common" / rel) for rel in common_files()]


def plan(home: Path | None = None, *, uninstall: bool = False, link: bool = False, python: str | None = None) -> Plan:
    out = Plan("nuke")
    init_py = nuke_home(home) / "init.py"
    if uninstall:
        out.actions.append(EditBlock(init_py, None))
        out.actions += [RemoveFile(dest, prune_up_to=nuke_home(home)) for _, dest in installed_files(home)]
        out.actions.append(WorkerSettings(settings_file(home), host="nuke", python=None))
        return out
    if link:
        plugin_dir = plugin_root() / "nuke"
        out.notes.append(f"Nuke loads the plugin from the package itself: {plugin_dir}")
    else:
        plugin_dir = install_dir(home) / "nuke"
        out.actions += [WriteFile(dest, plugin_file_bytes(src)) for src, dest in installed_files(home)]
    out.actions.append(EditBlock(init_py, init_block(plugin_dir)))
    if python is not None:
        out.actions.append(WorkerSettings(settings_file(home), host="nuke", python=python))
    out.notes.append("Restart Nuke; the node is in Nodes > FocusPull > FocusPull (Tab: FocusPull).")
    return out


def status(home: Path | None = None) -> tuple[str, str]:
    """(ok | outdated | missing, detail) of the Nuke installation in ``home``."""
    init_py = nuke_home(home) / "init.py"
    text = init_py.read_text(encoding="utf-8") if init_py.is_file() else ""
    if "focuspull" not in text or "pluginAddPath" not in text:
        return "missing", f"no focuspull block in {init_py}"
    if f"{(plugin_root() / 'nuke').as_posix()!r}" in text:
        return "ok", f"linked to {plugin_root() / 'nuke'}"
    stale = [str(dest) for src, dest in installed_files(home)
             if not dest.is_file() or dest.read_bytes() != plugin_file_bytes(src)]
    if stale:
        return "outdated", "differs from this focuspull: " + ", ".join(stale[:3])
    return "ok", f"{install_dir(home)} (from {init_py})"
