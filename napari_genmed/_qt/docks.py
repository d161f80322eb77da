"""Finding a panel of this plugin in a viewer's window, docking it when it is not."""

from __future__ import annotations

PLUGIN = "napari-genmed"


def docked(viewer, cls, name: str):
    """The viewer's panel of class ``cls`` (the plugin's dock widget ``name``),
    docked (tabbed) if it is not yet. napari hands plugins proxies of their own
    widgets: the real widget is returned."""
    for widget in viewer.window.dock_widgets.values():
        widget = getattr(widget, "__wrapped__", widget)
        if isinstance(widget, cls):
            return widget
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=True)
    return getattr(widget, "__wrapped__", widget)
