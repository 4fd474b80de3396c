"""FocusPull for Nuke: runs at every Nuke start, GUI or not (``nuke -t``, the farm).

It only makes the host package (``../common``) importable; it never builds UI
and never imports torch. The render itself runs in a separate worker process.
"""

import os

import nuke


def _add_common_folder() -> None:
    here = None
    for folder in nuke.pluginPath():
        if os.path.isfile(os.path.join(folder, "focuspull_nuke.py")):
            here = folder
            break
    if here is None:
        return
    common = os.path.normpath(os.path.join(here, os.pardir, "common"))
    if os.path.isfile(os.path.join(common, "focuspull_host", "__init__.py")):
        nuke.pluginAddPath(common)


_add_common_folder()
