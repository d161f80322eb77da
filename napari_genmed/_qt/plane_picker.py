"""Dock widget "Plane picker": place the standard planes on a 3D volume and extract
them as 2D views.

One plane per view is shown in 3D with napari's plane depiction (shift-drag moves
it along its normal). Sliders set its position along the normal and two tilts;
"Snap to standard plane" puts it back on the standard plane through the head;
"Extract" makes the 2D view at that plane as a new Image layer placed at its pose
("axial (extracted)": an acquired "axial" layer is never overwritten):
simulated ultrasound for a label volume (or skull mask), resampled intensities for
an image volume.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSlider, Label, PushButton
from napari.utils.notifications import show_error

from ..core.sim.geometry import VIEW_NAMES, Pose, adjusted_pose, standard_pose
from ..core.tasks.planes import extract_plane, plane_centre
from ..layer_data import view_layer
from ..state import state_of
from .docks import fit_dock, follow_dock
from .jobs import abandon, layer_list_events, start_job, watch
from .layers import MADE_BY, NONE, layer_kind, made_by, own_layer, own_name, remove_own, set_layer

OWNER = "plane picker"  #: the maker of the plane layers and the extracted views
EXTRACTED = "{view} (extracted)"  #: an extracted view's layer name


PLACEMENT_SLIDERS = (
    (50.0, "position (mm)", "along the plane's normal from the standard plane (or shift-drag it)"),
    (45.0, "tilt 1 (deg)", "tilt about the plane's row axis"),
    (45.0, "tilt 2 (deg)", "tilt about the plane's column axis"),
)  #: (range either side, label, tooltip) of the offset and the two tilts


class PlanePicker(Container):
    def __init__(self, napari_viewer):
        super().__init__(labels=True, scrollable=True)
        self.viewer = napari_viewer
        self.state = state_of(napari_viewer)
        #: per view: offset along the normal (mm), tilt about rows and about columns (deg)
        self.placements = {v: [0.0, 0.0, 0.0] for v in VIEW_NAMES}
        self.worker = None  #: an extraction running
        self._syncing = False
        self._centre_cache = (None, None)
        self._planes_of = None  # the volume layer the plane layers show
        tip = "the 3D volume the planes cut (labels: simulated ultrasound; image: resampled)"
        self.volume = ComboBox(choices=self._volumes, label="volume", tooltip=tip)
        tip = "the standard plane the sliders below move"
        self.view = ComboBox(choices=list(VIEW_NAMES), value="axial", label="plane", tooltip=tip)
        self.offset, self.tilt_a, self.tilt_b = (
            FloatSlider(value=0.0, min=-span, max=span, step=0.5, label=label, tooltip=tip)
            for span, label, tip in PLACEMENT_SLIDERS
        )
        self.snap = PushButton(
            text="Snap to standard plane", tooltip="back to the standard plane through the head"
        )
        self.extract = PushButton(
            text="Extract view",
            tooltip="the 2D view at this plane as a new layer ('axial (extracted)'); "
            "no layer you opened is changed",
        )
        self.info = Label(value="")
        self.extend([self.volume, self.view, self.offset, self.tilt_a, self.tilt_b])
        self.extend([self.snap, self.extract, self.info])
        for w in (self.offset, self.tilt_a, self.tilt_b):
            w.changed.connect(self._on_slider)
        self.view.changed.connect(self._on_view)
        self._auto = False  # an automatic volume choice does not draw planes; a user's does
        self.volume.changed.connect(lambda v: None if self._auto else self.show_planes())
        self.snap.changed.connect(self.snap_to_standard)
        self.extract.changed.connect(self.extract_view)
        watch(self, layer_list_events(napari_viewer), self._refresh_volumes)
        holder = self
        self.native.destroyed.connect(lambda *_: abandon(holder.worker))
        self._refresh_volumes()
        follow_dock(self, self._on_shown)  # the planes show with the panel's tab
        fit_dock(self)  # one tabbed column that fits the screen

    def _on_shown(self, shown: bool):
        """The panel came into view (opened, or its tab raised): its planes show (drawn
        now if none are, rather than after a slider moves); it left the front: they
        hide, so other panels' results are not covered by them."""
        try:
            planes = [own_layer(self.viewer, f"{v} plane", OWNER) for v in VIEW_NAMES]
        except RuntimeError:  # the viewer is closing
            return
        if shown and self._layer() is not None and planes[0] is None:
            self.show_planes()
            return
        for layer in planes:
            if layer is not None:
                layer.visible = shown

    # -- the volume -----------------------------------------------------------
    def _volumes(self, widget=None):
        out = [NONE]
        for layer in self.viewer.layers:
            if (
                layer_kind(layer) in ("image", "labels")
                and np.ndim(layer.data) == 3
                and min(np.shape(layer.data)) > 1
                and made_by(layer) != OWNER
            ):
                out.append(layer.name)
        return out

    def _refresh_volumes(self, event=None):
        self._auto = True
        try:
            self._choose_volume()
        finally:
            self._auto = False

    def _choose_volume(self):
        current = self.volume.value
        self.volume.reset_choices()
        if current in self.volume.choices and current != NONE:
            self.volume.value = current
        elif len(self.volume.choices) > 1:
            labels = [
                n
                for n in self.volume.choices
                if n in self.viewer.layers and layer_kind(self.viewer.layers[n]) == "labels"
            ]
            self.volume.value = (
                "head labels" if "head labels" in labels else (labels or self.volume.choices[1:])[0]
            )

    def _layer(self):
        name = self.volume.value
        return (
            self.viewer.layers[name]
            if name not in (None, NONE) and name in self.viewer.layers
            else None
        )

    def _spacing(self, layer) -> float:
        return float(np.mean(layer.scale))

    @staticmethod
    def _key(layer) -> tuple:
        """Identifies a volume's content (napari hands plugins proxies, so not by id)."""
        data = np.asarray(layer.data)
        return (layer.name, data.shape, float(data.sum(dtype=np.float64)), tuple(layer.scale))

    def _centre(self, layer) -> np.ndarray:
        """Centre of the standard planes, computed once per volume layer."""
        key = self._key(layer)
        if self._centre_cache[0] != key:
            centre = plane_centre(
                np.asarray(layer.data), self._spacing(layer), layer_kind(layer) == "labels"
            )
            self._centre_cache = (key, centre)
        return self._centre_cache[1]

    def pose(self, view: str) -> Pose | None:
        layer = self._layer()
        if layer is None:
            return None
        offset, a, b = self.placements[view]
        return adjusted_pose(standard_pose(view, self._centre(layer)), offset, a, b)

    # -- the planes in 3D -----------------------------------------------------
    def show_planes(self):
        layer = self._layer()
        if layer is None:
            self.state.set_planes({})
            return
        if self._planes_of != self._key(layer):  # a new volume: new plane layers
            for view in VIEW_NAMES:
                remove_own(self.viewer, f"{view} plane", OWNER)
            self._planes_of = self._key(layer)
        s = self._spacing(layer)
        for view in VIEW_NAMES:
            pose = self.pose(view)
            name = f"{view} plane"
            plane = {
                "position": tuple(np.asarray(pose.origin) / s),
                "normal": tuple(pose.normal),
                "thickness": 1.0,
            }
            target = own_layer(self.viewer, name, OWNER)
            if target is not None:
                self._syncing = True
                try:
                    target.plane.position = plane["position"]
                    target.plane.normal = plane["normal"]
                finally:
                    self._syncing = False
            else:
                data = (
                    (np.asarray(layer.data) == 1).astype(np.float32)
                    if layer_kind(layer) == "labels"
                    else np.asarray(layer.data, np.float32)
                )
                target = self.viewer.add_image(
                    data,
                    name=own_name(self.viewer, name, OWNER),
                    scale=(s, s, s),
                    depiction="plane",
                    plane=plane,
                    blending="additive",
                    colormap={"axial": "red", "sagittal": "green", "coronal": "blue"}[view],
                    opacity=0.7,
                    metadata={MADE_BY: OWNER},
                )
                target.plane.events.position.connect(lambda e, v=view: self._on_drag(v))
        self.state.set_planes({view: self.pose(view) for view in VIEW_NAMES})

    def _on_drag(self, view: str):
        """A plane dragged in the canvas: read its new position back into the offset."""
        if self._syncing:
            return
        layer, target = self._layer(), own_layer(self.viewer, f"{view} plane", OWNER)
        if layer is None or target is None:
            return
        s = self._spacing(layer)
        pose = self.pose(view)
        moved = np.asarray(target.plane.position) * s - np.asarray(pose.origin)
        self.placements[view][0] += float(moved @ pose.normal)
        if view == self.view.value:
            self._syncing = True
            try:
                self.offset.value = float(
                    np.clip(self.placements[view][0], self.offset.min, self.offset.max)
                )
            finally:
                self._syncing = False

    def _on_slider(self, _=None):
        if self._syncing:
            return
        self.placements[self.view.value] = [
            float(self.offset.value),
            float(self.tilt_a.value),
            float(self.tilt_b.value),
        ]
        self.show_planes()

    def _on_view(self, view):
        self._syncing = True
        try:
            self.offset.value, self.tilt_a.value, self.tilt_b.value = self.placements[view]
        finally:
            self._syncing = False

    def snap_to_standard(self):
        self.placements[self.view.value] = [0.0, 0.0, 0.0]
        self._on_view(self.view.value)
        self.show_planes()

    # -- extraction -----------------------------------------------------------
    def extract_view(self):
        """The 2D view at the current plane, made in a worker (simulated ultrasound for
        a label volume, resampled intensities for an image volume); returns the worker."""
        layer = self._layer()
        if layer is None:
            show_error("Pick a 3D volume first.")
            return None
        if self.worker is not None:
            return None
        view = self.view.value
        pose = self.pose(view)
        pose = Pose(pose.origin, pose.row_axis, pose.col_axis, 1.0, (128, 128), name=view)
        args = (
            np.asarray(layer.data),
            self._spacing(layer),
            pose,
            layer_kind(layer) == "labels",
            view,
        )
        offset = np.asarray(layer.translate, float)  # the volume layer's offset in the world
        self.extract.enabled = False
        self.worker = start_job(
            extract_plane,
            *args,
            what=f"Extracting the {view} plane",
            on_result=lambda v: self._on_extracted(v, offset),
            on_finished=self._extracted,
            progress=False,
        )
        return self.worker

    def _on_extracted(self, v, offset):
        # a new layer of its own: an acquired "axial" the views may use is never touched
        data, kwargs, kind = view_layer(v, EXTRACTED.format(view=v.name))
        kwargs["affine"][:3, 3] += offset
        layer = set_layer(self.viewer, data, kwargs, kind, OWNER)
        self.info.value = f"{layer.name}: extracted at {np.round(v.pose.origin, 1)} mm"

    def _extracted(self):
        self.worker = None
        self.extract.enabled = True
