"""``genmed prefer-reader``: make this plugin napari's reader for the files it reads.

napari lets no plugin rank itself above napari's builtin reader: with two readers
for ``*.dcm``, ``*.png`` or ``*.nii.gz``, File > Open takes the one in napari's
preference ``plugins.extension2reader`` (Preferences > Plugins > File extension
readers), else asks. This command writes that preference for this plugin's patterns,
on the user's request only, says what it replaced, and ``--undo`` takes it back.
"""

from __future__ import annotations

PLUGIN = "napari-genmed"


def _patterns() -> list[str]:
    """The file patterns this plugin's manifest registers its reader for."""
    from pathlib import Path

    import yaml

    manifest = Path(__file__).resolve().parents[1] / "napari.yaml"
    readers = yaml.safe_load(manifest.read_text())["contributions"]["readers"]
    return [p for r in readers for p in r["filename_patterns"]]


def _cmd_prefer(args) -> int:
    try:
        from napari.settings import get_settings
    except ImportError:
        raise ValueError("napari is not installed here: there is no reader to prefer") from None
    settings = get_settings()
    current = dict(settings.plugins.extension2reader)
    changed = []
    dicom = ("*.dcm", "*.dicom")
    for pattern in [p for p in _patterns() if args.all or args.undo or p in dicom]:
        if args.undo:
            if current.get(pattern) == PLUGIN:
                del current[pattern]
                changed.append(f"{pattern}: napari asks again")
        elif current.get(pattern) != PLUGIN:
            before = current.get(pattern, "none, napari asked")
            current[pattern] = PLUGIN
            changed.append(f"{pattern}: {PLUGIN} (was {before})")
    settings.plugins.extension2reader = current
    settings.save()
    print("\n".join(changed) or "nothing to change")
    print(f"napari's settings: {settings.config_path}")
    return 0


def add_commands(sub) -> None:
    s = sub.add_parser(
        "prefer-reader",
        help="make this plugin napari's reader for DICOM (--all: NIfTI, PNG, TIFF too)",
    )
    s.add_argument("--all", action="store_true", help="also NIfTI, PNG and TIFF")
    s.add_argument("--undo", action="store_true", help="remove this plugin's preference")
    s.set_defaults(func=_cmd_prefer)
