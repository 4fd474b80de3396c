"""Scripts > Comp > FocusPull > FocusPull Submit to Farm: export the selected FocusPull tools as farm bundles.

Each tool's shot becomes an Open Job Description bundle next to its output
(``<output name>.farm/``), submitted to AWS Deadline Cloud when the deadline
CLI is installed and configured. ``focuspull install resolve`` copies this
file into Fusion's per-user Scripts/Comp/FocusPull folder and fills in
PLUGIN_DIR (where the library modules were copied); left as None it looks
next to this file, or in $FOCUSPULL_PLUGIN_DIR.
"""

import os
import sys

PLUGIN_DIR = None  # set by focuspull install


def _library_dirs():
    here = os.path.dirname(os.path.abspath(globals().get("__file__", "") or "."))
    for folder in (PLUGIN_DIR, os.environ.get("FOCUSPULL_PLUGIN_DIR"), here, os.path.join(here, os.pardir, "common")):
        if folder and os.path.isdir(folder):
            yield os.path.abspath(folder)


for _folder in _library_dirs():
    if _folder not in sys.path:
        sys.path.insert(0, _folder)

import focuspull_fusion  # noqa: E402

focuspull_fusion.main_farm(globals())
