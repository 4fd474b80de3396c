"""FocusPull for Nuke: GUI only (Nuke runs menu.py when it has a GUI)."""

import nuke


def _add_menus() -> None:
    command = "import focuspull_nuke\nfocuspull_nuke.create_node()"
    nodes_menu = nuke.menu("Nodes")
    sub = nodes_menu.addMenu("FocusPull")
    sub.addCommand("FocusPull", command)


_add_menus()
