"""Reach DaVinci Resolve / Fusion from Python: inside the host or from outside it.

Inside Fusion or Resolve's Fusion page a script already has ``comp``, ``fu``
(``fusion``) or ``bmd`` among its globals; ``current_comp(globals())`` uses
them. From outside (a terminal, a pipeline tool) the ``fusionscript`` library
is loaded from the paths Blackmagic documents in the Resolve scripting README:

* ``$RESOLVE_SCRIPT_LIB`` (the library itself), then the per-OS defaults:
  macOS ``/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so``,
  Windows ``C:\\Program Files\\Blackmagic Design\\DaVinci Resolve\\fusionscript.dll``,
  Linux ``/opt/resolve/libs/Fusion/fusionscript.so`` (``/home/resolve/...`` for ISO installs);
* ``$RESOLVE_SCRIPT_API/Modules`` (defaults per OS) holds ``DaVinciResolveScript.py``,
  the last resort.

The library is loaded with ``importlib`` (``ExtensionFileLoader``), not the
``imp`` module that Blackmagic's own ``DaVinciResolveScript.py`` used and that
Python 3.12 removed.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any, Dict, List, Mapping, Optional


class HostNotFound(Exception):
    """Resolve / Fusion cannot be reached; the message lists what was tried."""


def _platform(platform: Optional[str] = None) -> str:
    name = platform or sys.platform
    if name.startswith("win"):
        return "win32"
    if name == "darwin":
        return "darwin"
    return "linux"


def default_script_api(platform: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> List[str]:
    env = os.environ if environ is None else environ
    plat = _platform(platform)
    if plat == "darwin":
        return ["/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting"]
    if plat == "win32":
        program_data = env.get("PROGRAMDATA", "C:\\ProgramData")
        return [program_data + "\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting"]
    return ["/opt/resolve/Developer/Scripting", "/home/resolve/Developer/Scripting"]


def default_script_lib(platform: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> List[str]:
    env = os.environ if environ is None else environ
    plat = _platform(platform)
    if plat == "darwin":
        return ["/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so"]
    if plat == "win32":
        program_files = env.get("PROGRAMFILES", "C:\\Program Files")
        return [program_files + "\\Blackmagic Design\\DaVinci Resolve\\fusionscript.dll"]
    return ["/opt/resolve/libs/Fusion/fusionscript.so", "/home/resolve/libs/Fusion/fusionscript.so"]


def script_lib_candidates(environ: Optional[Mapping[str, str]] = None, platform: Optional[str] = None) -> List[str]:
    env = os.environ if environ is None else environ
    out = [env["RESOLVE_SCRIPT_LIB"]] if env.get("RESOLVE_SCRIPT_LIB") else []
    return out + [p for p in default_script_lib(platform, env) if p not in out]


def script_api_candidates(environ: Optional[Mapping[str, str]] = None, platform: Optional[str] = None) -> List[str]:
    env = os.environ if environ is None else environ
    out = [env["RESOLVE_SCRIPT_API"]] if env.get("RESOLVE_SCRIPT_API") else []
    return out + [p for p in default_script_api(platform, env) if p not in out]


def load_extension(name: str, path: str) -> ModuleType:
    """Load a compiled module from an explicit file (what ``imp.load_dynamic`` did)."""
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None:
        raise ImportError("cannot make a module spec for {}".format(path))
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    sys.modules[name] = module
    return module


def load_fusionscript(environ: Optional[Mapping[str, str]] = None, platform: Optional[str] = None) -> ModuleType:
    """The ``fusionscript`` module (``scriptapp("Resolve")`` / ``scriptapp("Fusion")``)."""
    if "fusionscript" in sys.modules:
        return sys.modules["fusionscript"]
    tried: List[str] = []
    for path in script_lib_candidates(environ, platform):
        if not os.path.isfile(path):
            tried.append(path + " (missing)")
            continue
        try:
            return load_extension("fusionscript", path)
        except ImportError as err:
            tried.append("{} ({})".format(path, err))
    for api in script_api_candidates(environ, platform):
        modules = os.path.join(api, "Modules")
        if not os.path.isfile(os.path.join(modules, "DaVinciResolveScript.py")):
            tried.append(os.path.join(modules, "DaVinciResolveScript.py") + " (missing)")
            continue
        if modules not in sys.path:
            sys.path.append(modules)
        try:
            return importlib.import_module("DaVinciResolveScript")
        except Exception as err:  # old copies import the removed `imp` module
            tried.append("{} ({})".format(modules, err))
    raise HostNotFound(
        "cannot load Resolve's scripting library; set RESOLVE_SCRIPT_LIB to fusionscript.so/.dll. Tried: "
        + "; ".join(tried)
    )


def scriptapp(name: str = "Resolve", environ: Optional[Mapping[str, str]] = None) -> Any:
    app = load_fusionscript(environ).scriptapp(name)
    if app is None:
        raise HostNotFound(
            "{} is not running or refuses external scripts (Preferences > System > General > "
            "External scripting using: Local)".format(name)
        )
    return app


def current_comp(namespace: Optional[Dict[str, Any]] = None) -> Any:
    """The current Fusion composition, from a script's globals or through the scripting library."""
    ns = namespace or {}
    if ns.get("comp") is not None:
        return ns["comp"]
    for key in ("fu", "fusion"):
        if ns.get(key) is not None:
            comp = ns[key].GetCurrentComp()
            if comp is not None:
                return comp
    if ns.get("bmd") is not None:
        comp = ns["bmd"].scriptapp("Fusion").GetCurrentComp()
        if comp is not None:
            return comp
    if ns.get("resolve") is not None:
        return ns["resolve"].Fusion().GetCurrentComp()
    try:
        return scriptapp("Resolve").Fusion().GetCurrentComp()
    except HostNotFound:
        comp = scriptapp("Fusion").GetCurrentComp()
        if comp is None:
            raise HostNotFound("no composition is open in Fusion") from None
        return comp
