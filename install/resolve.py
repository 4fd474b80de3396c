"""``focuspull install resolve`` (and ``fusion``): the FocusPull macro and scripts for Fusion.

Files go into the per-user Fusion folders of DaVinci Resolve (or of Fusion
Studio with ``fusion``):

=========  ===========================================================================
OS         Resolve: per-user Fusion folder
=========  ===========================================================================
Linux      ``~/.local/share/DaVinciResolve/Fusion``
macOS      ``~/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion``
Windows    ``%APPDATA%\\Blackmagic Design\\DaVinci Resolve\\Support\\Fusion``
=========  ===========================================================================

(Fusion Studio: ``~/.fusion/BlackmagicDesign/Fusion``,
``~/Library/Application Support/Blackmagic Design/Fusion``,
``%APPDATA%\\Blackmagic Design\\Fusion``.) Inside it:

* ``Macros/FocusPull.setting``: Add Tool > Macros > FocusPull;
* ``Scripts/Comp/FocusPull/FocusPull Render.lua``, ``FocusPull Submit to Farm.lua``
  and ``FocusPull Cancel.lua`` (every ``FocusPull *.lua`` of ``plugin/resolve``):
  Workspace > Scripts > FocusPull (Resolve) or Script > FocusPull (Fusion),
  with the library folder written into them. Lua, because the free Resolve
  21.1+ lists and runs no Python scripts;
* ``Modules/FocusPull/``: the library the scripts load (the Lua adapter, its
  JSON module and control list, the host package ``focuspull_host`` that the
  worker's Python runs, the JSON Schema), outside Scripts so it does not show
  up as menu entries.

The macro and the control list are generated from this focuspull's job
schema (``focuspull.install.fusion_macro``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from focuspull.install.common import (
    Plan,
    RemoveFile,
    WorkerSettings,
    WriteFile,
    common_files,
    plugin_file_bytes,
    plugin_root,
    settings_file,
)

HOSTS = ("resolve", "fusion")
SCRIPT_PREFIX = "FocusPull "  # "FocusPull Render.lua": menu entries; the other files are the library
MACRO_FILE = "FocusPull.setting"
SCRIPTS_SUBDIR = Path("Scripts") / "Comp" / "FocusPull"
MACROS_SUBDIR = Path("Macros")
LIBRARY_SUBDIR = Path("Modules") / "FocusPull"


def _platform(platform: str | None) -> str:
    name = platform or sys.platform
    return "win32" if name.startswith("win") else ("darwin" if name == "darwin" else "linux")


def fusion_user_dir(host: str = "resolve", home: Path | None = None, platform: str | None = None,
                    appdata: str | None = None) -> Path:
    """The per-user Fusion folder (Scripts, Macros, ...) of Resolve or Fusion Studio."""
    if host not in HOSTS:
        raise ValueError(f"host must be one of {', '.join(HOSTS)}, got {host!r}")
    base = Path(home) if home is not None else Path.home()
    plat = _platform(platform)
    if plat == "win32":
        if appdata:
            roaming = Path(appdata)
        elif home is None and os.environ.get("APPDATA"):
            roaming = Path(os.environ["APPDATA"])
        else:
            roaming = base / "AppData" / "Roaming"
        if host == "resolve":
            return roaming / "Blackmagic Design" / "DaVinci Resolve" / "Support" / "Fusion"
        return roaming / "Blackmagic Design" / "Fusion"
    if plat == "darwin":
        support = base / "Library" / "Application Support" / "Blackmagic Design"
        return support / "DaVinci Resolve" / "Fusion" if host == "resolve" else support / "Fusion"
    if host == "resolve":
        return base / ".local" / "share" / "DaVinciResolve" / "Fusion"
    return base / ".fusion" / "BlackmagicDesign" / "Fusion"


LAUNCHER_LINE = "local PLUGIN_DIR = nil -- set by focuspull install"


def launcher_text(source: str, library_dir: Path) -> str:
    """A comp script with the library folder filled in (a JSON string is a valid Lua string here)."""
    if LAUNCHER_LINE not in source:
        raise ValueError("comp script template lacks its PLUGIN_DIR line")
    return source.replace(LAUNCHER_LINE, f"local PLUGIN_DIR = {json.dumps(str(library_dir))} -- set by focuspull install")


def installed_files(host: str = "resolve", home: Path | None = None, platform: str | None = None) -> list[tuple[Path, bytes]]:
    """(destination, content) of every installed file."""
    root, src = fusion_user_dir(host, home, platform), plugin_root()
    library = root / LIBRARY_SUBDIR
    modules = [p for p in sorted((src / "resolve").iterdir())
               if p.is_file() and p.suffix == ".lua" and not p.name.startswith(SCRIPT_PREFIX)]
    files: list[tuple[Path, bytes]] = [(library / p.name, plugin_file_bytes(p)) for p in modules]
    files += [(library / rel, plugin_file_bytes(src / "common" / rel)) for rel in common_files()]
    files.append((root / MACROS_SUBDIR / MACRO_FILE, plugin_file_bytes(src / "resolve" / MACRO_FILE)))
    for script in sorted((src / "resolve").glob(SCRIPT_PREFIX + "*.lua")):
        text = script.read_text(encoding="utf-8")
        files.append((root / SCRIPTS_SUBDIR / script.name, launcher_text(text, library).encode("utf-8")))
    return files


def plan(host: str = "resolve", home: Path | None = None, *, uninstall: bool = False, python: str | None = None,
         platform: str | None = None) -> Plan:
    out = Plan(host)
    root = fusion_user_dir(host, home, platform)
    files = installed_files(host, home, platform)
    if uninstall:
        out.actions += [RemoveFile(dest, prune_up_to=root) for dest, _ in files]
        out.actions.append(WorkerSettings(settings_file(home), host=host, python=None))
        return out
    out.actions += [WriteFile(dest, data) for dest, data in files]
    if python is not None:
        out.actions.append(WorkerSettings(settings_file(home), host=host, python=python))
    app = "DaVinci Resolve" if host == "resolve" else "Fusion Studio"
    menu = "Workspace > Scripts" if host == "resolve" else "Script"
    out.notes.append(f"Restart {app}. Add the macro with Add Tool > Macros > FocusPull, render with its Render button "
                     f"or {menu} > FocusPull > FocusPull Render, send it to the farm with Submit to Farm.")
    return out


def status(host: str = "resolve", home: Path | None = None, platform: str | None = None) -> tuple[str, str]:
    root = fusion_user_dir(host, home, platform)
    files = installed_files(host, home, platform)
    missing = [str(dest) for dest, _ in files if not dest.is_file()]
    if len(missing) == len(files):
        return "missing", f"nothing installed in {root}"
    if missing:
        return "outdated", "missing " + ", ".join(missing[:3])
    stale = [str(dest) for dest, data in files if dest.read_bytes() != data]
    if stale:
        return "outdated", "differs from this focuspull: " + ", ".join(stale[:3])
    return "ok", str(root)
