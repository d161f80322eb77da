"""Docking the plugin's panels: one tabbed dock column that fits a 1600 x 1000 screen.

napari docks a panel opened from the *Plugins* menu below the ones already open, so
six panels stacked would grow the window to over 3,000 px. Each panel therefore calls
:func:`fit_dock` at the end of its ``__init__``: once Qt has docked it, it joins the
plugin's other panels as a tab, and the column is kept :data:`DOCK_WIDTH` wide. The
panels scroll (magicgui's ``scrollable``) instead of setting the window's minimum
height, and their labels wrap and combo boxes shrink instead of widening the dock.

Docking by name, not by class: a panel never imports another panel (they share the
viewer's state instead, :mod:`napari_genmed.state`).
"""

from __future__ import annotations

PLUGIN = "napari-genmed"
#: px. napari's own layer docks take about 380 px at 1600 px; 240 more leaves the
#: canvas 60% of the window with splitters and frames (the user can still drag the column wider)
DOCK_WIDTH = 240
COMBO_CHARS = 6  #: characters a layer combo box shows before it elides
FILE_BUTTONS = ("Choose file", "Select file", "Choose directory", "Select folder")
WRAP_PX = 100  #: a label wider than this (or empty, for a readout) wraps
SCROLLBAR_PX = 16  #: room for the vertical scroll bar beside a panel
#: the panels' tab texts: short, so that three or four tabs show in the column at once
TAB_TITLES = {
    "Skull reconstruction": "Reconstruct",
    "Latent explorer": "Latent",
    "Missing views": "Views",
    "Flow density": "Density",
    "Plane picker": "Planes",
    "Fetal head phantom": "Phantom",
}


def is_docked(viewer, name: str) -> bool:
    """Whether the plugin's dock widget ``name`` (its menu name) is in the window."""
    return f"{name} ({PLUGIN})" in viewer.window.dock_widgets


def docked(viewer, name: str) -> None:
    """Dock (tabbed) the plugin's widget ``name`` unless it is docked already."""
    if not is_docked(viewer, name):
        viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=True)


def compact(widget) -> None:
    """Let a panel's Qt widget shrink to the dock column: nested boxes lose their
    margins (only the panel keeps a thin one), labels wrap, combo boxes,
    line edits and spin boxes elide instead of asking for the width of their longest
    entry (a seed's spin box is as wide as 2**31 otherwise)."""
    from qtpy.QtWidgets import (
        QAbstractSpinBox,
        QComboBox,
        QLabel,
        QLayout,
        QLineEdit,
        QPushButton,
        QSizePolicy,
    )

    for layout in widget.findChildren(QLayout):  # nested boxes: no margins of their own
        if layout is not widget.layout():
            layout.setContentsMargins(0, 0, 0, 0)
    if widget.layout() is not None:
        widget.layout().setContentsMargins(2, 6, 2, 6)

    for label in widget.findChildren(QLabel):
        if label.text() and not label.wordWrap() and label.minimumSizeHint().width() <= WRAP_PX:
            continue  # a header or a field's name: one line as it is
        label.setWordWrap(True)  # a readout (empty until a result) or a long text wraps,
        label.setMinimumWidth(WRAP_PX)  # no wider than this: Qt asks for more otherwise
        policy = label.sizePolicy()  # and as wide as the column lets it be
        policy.setHorizontalPolicy(QSizePolicy.Policy.Expanding)
        label.setSizePolicy(policy)
    for combo in widget.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_CHARS)
    for edit in widget.findChildren(QLineEdit):
        edit.setMinimumWidth(60)
    for spin in widget.findChildren(QAbstractSpinBox):  # not as wide as their maximum
        spin.setMinimumWidth(70)
    for button in widget.findChildren(QPushButton):
        if button.text() in FILE_BUTTONS:  # magicgui's FileEdit: the edit says what it is
            button.setText("...")
            button.setToolTip("choose a file")


def fit_dock(panel) -> None:
    """Compact ``panel`` now; once it is docked (the next turn of the event loop), tab
    it with the plugin's other docked panels and keep the column narrow."""
    from qtpy.QtCore import QTimer

    compact(panel.native)
    QTimer.singleShot(0, lambda: _join_tabs(panel))


def follow_dock(panel, callback) -> None:
    """Once ``panel`` is docked: ``callback(visible)`` whenever its dock shows or hides
    (its tab comes to the front or leaves it), and once now if it is in front."""
    from qtpy.QtCore import QTimer

    def connect():
        try:
            dock = dock_of(panel.native)
        except RuntimeError:  # closed before it was docked
            return
        if dock is not None:
            dock.visibilityChanged.connect(callback)
            if dock.isVisible() and not dock.visibleRegion().isEmpty():
                callback(True)

    QTimer.singleShot(0, connect)


def dock_of(widget):
    """The QDockWidget holding ``widget``, or None."""
    from qtpy.QtWidgets import QDockWidget

    while widget is not None and not isinstance(widget, QDockWidget):
        widget = widget.parentWidget()
    return widget


def _scroll_in(dock, panel) -> None:
    """Put the panel's scroll area (magicgui's ``scrollable``) back between the dock and
    the panel: napari docks ``panel.native``, the area's inner widget, and drops the
    area. ``_magic_widget`` is what napari's ``inner_widget()`` reads to find the panel."""
    root = panel.root_native_widget
    if root is panel.native or dock.widget() is root:
        return
    from qtpy.QtCore import Qt

    root._magic_widget = panel
    inner = root.takeWidget()  # Qt ignores setWidget() of the widget it still thinks it holds
    root.setWidget(inner)
    root.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # magicgui set the area's minimum width from the panel before it was compacted
    root.setMinimumWidth(inner.minimumSizeHint().width() + SCROLLBAR_PX)
    dock.setWidget(root)


def _join_tabs(panel) -> None:
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QDockWidget, QTabBar

    try:
        dock = dock_of(panel.native)
    except RuntimeError:  # the panel was closed before it was docked
        return
    if dock is None or dock.isFloating():
        return
    _scroll_in(dock, panel)
    window = dock.parentWidget()
    area = window.dockWidgetArea(dock)
    dock.setProperty(PLUGIN, True)
    name = getattr(dock, "name", "").removesuffix(f" ({PLUGIN})")
    dock.setWindowTitle(TAB_TITLES.get(name, name))  # the tab's text; its title bar keeps the name
    others = [
        d
        for d in window.findChildren(QDockWidget)
        if d is not dock
        and d.property(PLUGIN)
        and window.dockWidgetArea(d) == area
        and not d.isFloating()
    ]
    if others and dock not in window.tabifiedDockWidgets(others[0]):
        window.tabifyDockWidget(others[0], dock)
        dock.show()
        dock.raise_()
    for bar in window.findChildren(QTabBar):  # whole names, scrolled, never "Sk..."
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)
    window.resizeDocks([dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)
