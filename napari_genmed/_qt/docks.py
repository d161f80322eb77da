"""Docking one of this plugin's panels by its menu name, when it is not docked yet.

By name, not by class: a panel never imports another panel (they share the viewer's
state instead, :mod:`napari_genmed.state`).
"""

from __future__ import annotations

PLUGIN = "napari-genmed"


def is_docked(viewer, name: str) -> bool:
    """Whether the plugin's dock widget ``name`` (its menu name) is in the window."""
    return f"{name} ({PLUGIN})" in viewer.window.dock_widgets


def docked(viewer, name: str) -> None:
    """Dock (tabbed) the plugin's widget ``name`` unless it is docked already."""
    if not is_docked(viewer, name):
        viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=True)
