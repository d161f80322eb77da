"""Core results as napari layer data: ``(data, kwargs, layer type)`` tuples.

Plain functions with no Qt (nor napari) import: the npe2 sample-data contribution
uses them too, and the panels add what they return (``_qt/layers.py``). A 2D view
becomes a ``(1, H, W)`` image whose 4x4 affine
(:meth:`~napari_genmed.core.sim.geometry.Pose.affine`) places it at its pose in the
volume's millimetre space, so it shows in 3D through the head. A reconstruction
becomes its result layers (:func:`reconstruction_layers`), whose names are
:data:`RESULT_LAYERS`.
"""

from __future__ import annotations

import numpy as np

from .colors import (  # noqa: F401  (re-exported: the layers' colours)
    ANATOMY_COLORS,
    RECONSTRUCTION_COLORMAP,
    SKULL_COLORS,
    SKULL_SURFACE_COLORMAP,
    VIEW_COLORMAP,
)

LayerData = tuple  # (data, kwargs, layer_type)


def view_arrangement(pose) -> tuple[int, int, int]:
    """Data axes of a view layer: ``(normal axis, row axis, column axis)``.

    The slice is stored as a 3D array with a singleton axis, its axes placed on the
    world axes they are closest to, so the affine is near-diagonal: an exactly
    standard plane then shows as a line in a 2D viewer instead of a singular
    transform."""
    normal_axis = int(np.argmax(np.abs(pose.normal)))
    a, b = [k for k in range(3) if k != normal_axis]
    row = np.abs(np.asarray(pose.row_axis))
    return (normal_axis, a, b) if row[a] >= row[b] else (normal_axis, b, a)


def view_layer(view, name: str | None = None) -> LayerData:
    """A 2D view as an image layer placed at its pose (see :func:`view_arrangement`)."""
    pose = view.pose
    k, r, c = view_arrangement(pose)
    image = np.asarray(view.image, np.float32)
    data = np.moveaxis(image[None], (0, 1, 2), (k, r, c))
    s = pose.spacing_mm
    affine = np.eye(4)
    affine[:3, k] = pose.normal * s
    affine[:3, r] = np.asarray(pose.row_axis) * s
    affine[:3, c] = np.asarray(pose.col_axis) * s
    affine[:3, 3] = pose.points(0.0, 0.0)
    kwargs = {
        "name": name or view.name,
        "affine": affine,
        "colormap": VIEW_COLORMAP,
        "contrast_limits": (0.0, 1.0),
        "rendering": "translucent",
        "blending": "translucent",
        "metadata": {
            "genmed_view": view.name,
            "pose": pose.to_dict(),
            "seed": view.seed,
            "pixel_spacing_mm": s,
            "view_axes": [k, r, c],
        },
    }
    return (data, kwargs, "image")


def phantom_layers(
    phantom, views: dict | None = None, prefix: str = "", show_surface: bool = True
) -> list[LayerData]:
    """Layers of a phantom: its skull and all labels (2 mm scale), its skull surface
    (hidden unless ``show_surface``), then its views."""
    scale = (phantom.spacing_mm,) * 3
    meta = {"genmed_phantom": phantom.metadata()}
    layers = [
        (
            phantom.labels,
            {
                "name": f"{prefix}head labels",
                "scale": scale,
                "metadata": meta,
                "opacity": 0.5,
                "visible": False,
            },
            "labels",
        ),
        (
            phantom.skull.astype(np.uint8),
            {
                "name": f"{prefix}skull",
                "scale": scale,
                "metadata": meta,
                "colormap": SKULL_COLORS,
                "visible": False,
            },
            "labels",
        ),
        surface_layer(phantom.skull, phantom.spacing_mm, f"{prefix}skull surface"),
    ]
    layers[-1][1]["visible"] = bool(show_surface)
    for view in (views or {}).values():
        layers.append(view_layer(view, f"{prefix}{view.name}"))
    return layers


def surface_layer(
    mask: np.ndarray, spacing_mm: float, name: str, opacity: float = 0.6, level: float = 0.5
) -> LayerData:
    """A smooth surface of a volume in the volume's millimetre space."""
    from .core.io.meshes import surface

    mesh = surface(mask, spacing_mm, level)
    if mesh is None:
        raise ValueError("the volume is empty: no surface")
    verts, faces = mesh
    values = np.ones(len(verts), np.float32)
    kwargs = {
        "name": name,
        "colormap": SKULL_SURFACE_COLORMAP,
        "opacity": opacity,
        "shading": "smooth",
        "blending": "translucent",
    }
    return ((verts, faces, values), kwargs, "surface")


PROBABILITY, MASK, SURFACE = ("skull probability", "reconstructed skull", "reconstructed surface")
RESULT_LAYERS = (PROBABILITY, MASK, SURFACE)  #: the layers a reconstruction shows as


def reconstruction_layers(r) -> list[LayerData]:
    """The result layers of a :class:`~.core.tasks.reconstruct.Reconstruction`: the
    probability and the skull at the threshold (hidden: the surface shows it), and the
    surface when it has one, coloured with samples > 1 by how far it moves between
    them (``r.spread_mm``, from the voxel std ``r.uncertainty``; as a volume layer the
    std covered the scene, and adding or removing a layer stalls napari for 100-400
    ms, a colour change does not)."""
    scale = (r.spacing_mm,) * 3
    meta = {
        "genmed_reconstruction": {
            "model": r.model_kind,
            "views": r.views_used,
            "threshold": r.threshold,
        }
    }
    out = [
        (
            r.probability,
            {
                "name": PROBABILITY,
                "scale": scale,
                "colormap": "inferno",
                "contrast_limits": (0.0, 1.0),
                "rendering": "attenuated_mip",
                "visible": False,
                "metadata": meta,
            },
            "image",
        ),
        (
            r.mask().astype(np.uint8),
            {"name": MASK, "scale": scale, "opacity": 0.6, "visible": False, "metadata": meta},
            "labels",
        ),
    ]
    if r.surface is not None:
        verts, faces = r.surface
        kwargs = {
            "name": SURFACE,
            "colormap": RECONSTRUCTION_COLORMAP,
            "contrast_limits": (0.0, 1.0),
            "opacity": 1.0,  # solid: the truth, when shown, is the translucent one
            "shading": "smooth",
            "metadata": dict(meta, genmed_coloured_by=None),
        }
        values = np.ones(len(verts), np.float32)
        if r.spread_mm is not None:  # the surface coloured by how far it moves between samples
            from .core.metrics.surface_spread import at_vertices

            values = at_vertices(r.spread_mm, verts, r.spacing_mm)
            kwargs.update(
                colormap=UNCERTAINTY_COLORMAP,
                contrast_limits=(0.0, spread_scale_mm(values)),
                metadata=dict(meta, genmed_coloured_by=UNCERTAINTY_UNITS),
            )
        out.append(((verts, faces, values), kwargs, "surface"))
    return out


UNCERTAINTY_COLORMAP = "plasma"
UNCERTAINTY_UNITS = "how far the surface moves between the samples (std, mm)"
SPREAD_SCALE_MM = 0.5  #: the colour bar's top at least: sub-0.1 mm spreads stay dark


def spread_scale_mm(values: np.ndarray) -> float:
    """The colour bar's top: the vertices' 99th percentile rounded up to 0.25 mm, at
    least :data:`SPREAD_SCALE_MM`, so that a surface that hardly moves reads dark
    rather than stretched to full colour."""
    top = float(np.percentile(values, 99)) if len(values) else 0.0
    return max(SPREAD_SCALE_MM, float(np.ceil(top / 0.25) * 0.25))


TOY_TITLES = (("base", "base N(0, I)"), ("true", "true banana"), ("learnt", "learnt by RealNVP"))


def toy_flow_layers(images: dict, origin=(0.0, 0.0)) -> list[LayerData]:
    """The teaching flow's three densities side by side from world point ``origin``
    (row, column; see ``core.flows.toyflow``), and their titles above them."""
    r0, c0 = float(origin[0]), float(origin[1])
    side = float(np.shape(images["true"])[0])
    out = [
        (
            images[key],
            {
                "name": f"toy flow: {title}",
                "translate": (r0, c0 + (side + 12.0) * k),
                "colormap": "magma",
                "metadata": {"genmed_toy": key},
            },
            "image",
        )
        for k, (key, title) in enumerate(TOY_TITLES)
    ]
    titles = [title for _, title in TOY_TITLES]
    centres = [[r0 - 8.0, c0 + (side + 12.0) * k + side / 2] for k in range(len(titles))]
    out.append(
        (
            np.asarray(centres),
            {
                "name": "toy flow: titles",
                "features": {"title": titles},
                "text": {"string": "{title}", "color": "white", "size": 11, "anchor": "center"},
                "size": 0.1,
                "face_color": "transparent",
                "border_width": 0,
                "metadata": {"genmed_toy": "titles"},
            },
            "points",
        )
    )
    return out


GENERATED, GENERATED_STD = "generated {view}", "generated {view} std"  #: the layers' names
GENERATED_BMODE = "generated {view} B-mode"  #: one B-mode sample around it (texture)
GENERATED_ANATOMY = "generated {view} anatomy"  #: the labels the anatomy generator drew


def generated_view_layers(g, view: str, seed: int) -> list[LayerData]:
    """A generated view (:class:`~.core.tasks.viewgen.GeneratedView`) at its pose,
    named after its query, with samples > 1 its per-pixel std (hidden: the panel
    shows it; in 3D on request) and, generated with texture, its B-mode sample."""
    from .core.sim.ultrasound import View

    name, std_name = GENERATED.format(view=view), GENERATED_STD.format(view=view)
    data, kwargs, kind = view_layer(View(name, g.image, g.pose, int(seed), speckle=False), name)
    kwargs["metadata"] = dict(kwargs["metadata"], genmed_generated=g.method)
    out = [(data, kwargs, kind)]
    if g.std is not None:
        std = g.std / max(float(g.std.max()), 1e-6)
        data, kwargs, kind = view_layer(View(std_name, std, g.pose, 0, False), std_name)
        kwargs.update(
            colormap="viridis",
            visible=False,
            metadata=dict(kwargs["metadata"], genmed_generated=g.method),
        )
        out.append((data, kwargs, kind))
    if getattr(g, "bmode", None) is not None:  # above the estimate, at the same pose
        name = GENERATED_BMODE.format(view=view)
        data, kwargs, kind = view_layer(View(name, g.bmode, g.pose, int(seed), True), name)
        kwargs["metadata"] = dict(kwargs["metadata"], genmed_generated=g.method)
        out.append((data, kwargs, kind))
    if getattr(g, "anatomy", None) is not None:  # hidden: each slab in 3D costs a paint
        name = GENERATED_ANATOMY.format(view=view)
        data, kwargs, _ = view_layer(View(name, g.anatomy, g.pose, 0, False), name)
        for key in ("contrast_limits", "rendering"):
            kwargs.pop(key)
        kwargs.update(
            colormap=ANATOMY_COLORS,
            opacity=0.6,
            visible=False,
            metadata=dict(kwargs["metadata"], genmed_generated=g.method),
        )
        out.append((data.astype(np.uint8), kwargs, "labels"))
    return out
