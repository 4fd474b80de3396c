"""Which system libraries Qt's X11 (xcb) platform plugin lacks, and how to install them.

A pip-installed PySide6 brings Qt but not the X11 helper libraries its xcb
plugin links against (libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, ...);
without them Qt aborts with "could not load the Qt platform plugin xcb".
This asks ``ldd`` what the plugin cannot find and names the packages, so
``focuspull doctor`` and ``focuspull ui`` can say what to install. No Qt is
imported here.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: shared object -> Debian/Ubuntu package (what a plain desktop install may lack)
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
#: the same for Fedora/RHEL, where the names differ most
FEDORA_PACKAGES = {
    "libxcb-cursor.so.0": "xcb-util-cursor",
    "libxcb-icccm.so.4": "xcb-util-wm",
    "libxcb-keysyms.so.1": "xcb-util-keysyms",
    "libxcb-image.so.0": "xcb-util-image",
    "libxcb-render-util.so.0": "xcb-util-renderutil",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11",
}


def xcb_plugin() -> Path | None:
    """The xcb platform plugin of the installed PySide6 (None without PySide6 or off Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.exists() else None


def missing_libraries(plugin: Path | None = None, ldd_output: str | None = None) -> list[str]:
    """Shared objects the plugin (or the Qt libraries it loads) cannot find, sorted, no repeats."""
    if ldd_output is None:
        plugin = plugin or xcb_plugin()
        ldd = shutil.which("ldd")
        if plugin is None or ldd is None:
            return []
        try:
            ldd_output = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired) as err:
            log.debug("ldd %s failed: %s", plugin, err)
            return []
    missing = {line.split("=>")[0].strip() for line in ldd_output.splitlines() if "not found" in line}
    return sorted(name for name in missing if name)


def install_hint(missing: list[str]) -> str:
    """The command that installs ``missing`` (Debian/Ubuntu; Fedora names where they differ)."""
    debian = sorted({DEBIAN_PACKAGES.get(name, name) for name in missing})
    hint = f"sudo apt-get install {' '.join(debian)}"
    fedora = sorted({FEDORA_PACKAGES[name] for name in missing if name in FEDORA_PACKAGES})
    if fedora:
        hint += f"  (Fedora/RHEL: sudo dnf install {' '.join(fedora)})"
    return hint


def xcb_problem() -> str | None:
    """One line naming what the X11 plugin lacks and how to install it; None when nothing is missing."""
    missing = missing_libraries()
    if not missing:
        return None
    return (f"Qt's X11 platform plugin cannot load: {', '.join(missing)} not found; "
            f"install them with: {install_hint(missing)}")


def will_use_xcb() -> bool:
    """Qt would pick the X11 plugin: Linux, an X display, and no other platform asked for."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0] == "xcb"
    return sys.platform.startswith("linux") and bool(os.environ.get("DISPLAY")) and not os.environ.get("WAYLAND_DISPLAY")
