"""``genmed reconstruct``: the skull from view files, without the GUI; ``--batch`` runs
every study of a folder.

One study: ``--axial``, ``--sagittal``, ``--coronal`` name its files (DICOM, PNG, TIFF,
NIfTI slices); the outputs go to ``--out`` (:mod:`~..core.tasks.study`). A batch:
every sub-folder of ``--batch FOLDER`` is a study whose files are named after their
planes; each study's outputs go to ``OUT/<study>/``, and ``OUT/summary.csv`` has one
row per study (biometry, verdicts, or the error). A study that fails is a row with its
error; the others still run. The exit status is 1 when any study failed.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from ..core.sim.geometry import VIEW_NAMES

COLUMNS = (
    ("study", None),
    ("status", None),
    ("views", None),
    ("frames", None),
    ("model", None),
    ("bpd_mm", "bpd_mm"),
    ("ofd_mm", "ofd_mm"),
    ("hc_mm", "hc_mm"),
    ("ga_hadlock_weeks", "ga_hadlock_weeks"),
    ("ga_intergrowth_weeks", "ga_intergrowth_weeks"),
    ("verdicts", None),
    ("withheld", None),
    ("error", None),
)


def _frame(value: str):
    from ..core.tasks.study import BEST

    if value == BEST:
        return BEST
    try:
        k = int(value)
    except ValueError:
        raise ValueError(f"--frame takes a frame number or {BEST!r}, not {value!r}") from None
    if k < 0:
        raise ValueError(f"--frame {k}: frames count from 0")
    return k


def _row(study: str, summary: dict | None, error: str = "") -> dict:
    row = {name: "" for name, _ in COLUMNS}
    row.update(study=study, status="failed" if error else "ok", error=error)
    if summary is not None:
        views = summary["views"]
        row.update(
            views=" ".join(views),
            frames=" ".join(f"{n}:{v['frame']}/{v['frames']}" for n, v in views.items()),
            model=summary["model"],
            verdicts="; ".join(f"{n}: {v.get('verdict', 'not checked')}" for n, v in views.items()),
            withheld=summary["withheld"] or "",
        )
        for name, key in COLUMNS:
            if key and key in summary["biometry"]:
                row[name] = f"{summary['biometry'][key]:.2f}"
    return row


def _studies(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ValueError(f"--batch {folder}: not a folder")
    studies = sorted(p for p in folder.iterdir() if p.is_dir())
    if not studies:
        raise ValueError(f"--batch {folder}: no study folders in it (one sub-folder per study)")
    return studies


def _cmd_reconstruct(args) -> int:
    from tqdm import tqdm

    from .. import api
    from ..core.tasks.plausibility import gate_for
    from ..core.tasks.study import run_study, study_files

    single = {n: Path(getattr(args, n)) for n in VIEW_NAMES if getattr(args, n)}
    if bool(single) == bool(args.batch):
        raise ValueError("give the view files (--axial/--sagittal/--coronal) or --batch FOLDER")
    frame = _frame(args.frame)
    out = Path(args.out)
    model = api.load_model(args.model, args.device)
    gate = gate_for(model, str(next(model.parameters()).device))
    options = dict(
        frame=frame,
        n_samples=args.samples,
        seed=args.seed,
        threshold=args.threshold,
        allow_implausible=args.allow_implausible,
        overwrite=args.overwrite,
    )
    if single:
        summary = run_study(model, gate, single, out, **options)
        print(json.dumps(summary, indent=2) if args.json else _text(summary))
        return 0
    studies = _studies(Path(args.batch))
    table = out / "summary.csv"
    if table.exists() and not args.overwrite:
        raise ValueError(f"{table} exists: not written over (another --out, or --overwrite)")
    out.mkdir(parents=True, exist_ok=True)
    rows, failed = [], 0
    for folder in tqdm(studies, desc="studies", unit="study", file=sys.stderr):
        try:
            summary = run_study(model, gate, study_files(folder), out / folder.name, **options)
            rows.append(_row(folder.name, summary))
        except Exception as exc:  # this study's problem, whatever it is; the others run
            failed += 1
            message = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            rows.append(_row(folder.name, None, message))
            print(f"genmed: {folder.name}: {message}", file=sys.stderr)
    with table.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[name for name, _ in COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(studies) - failed} of {len(studies)} studies reconstructed; summary: {table}")
    return 1 if failed else 0


def _text(summary: dict) -> str:
    lines = [f"model {summary['model']}"]
    for name, v in summary["views"].items():
        lines.append(
            f"{name}: {v['file']} frame {v['frame']}/{v['frames']}, {v['pixel_mm']:.3f} mm, "
            f"{v.get('verdict', 'not checked')}"
        )
    b = summary["biometry"]
    if summary["withheld"]:
        lines.append(summary["withheld"])
    elif b:
        lines.append(
            f"BPD {b['bpd_mm']:.1f}  OFD {b['ofd_mm']:.1f}  HC {b['hc_mm']:.1f} mm, "
            f"GA {b['ga_hadlock_weeks']:.1f} weeks (Hadlock)"
        )
    else:
        lines.append("no closed skull in the axial plane: no biometry")
    lines += [f"wrote {p}" for p in summary["outputs"]]
    return "\n".join(lines)


def add_commands(sub) -> None:
    from ..core.io.bundled import NAMES

    s = sub.add_parser(
        "reconstruct", help="the skull from view files (DICOM, PNG, TIFF, NIfTI), or a batch"
    )
    for name in VIEW_NAMES:
        s.add_argument(f"--{name}", metavar="FILE", help=f"the {name} view's file")
    s.add_argument("--batch", metavar="FOLDER", help="one sub-folder per study, files by plane")
    s.add_argument("--out", required=True, help="the output folder (never written over)")
    s.add_argument("--model", default="hirec-cvae", help=f"{', '.join(NAMES)} or a .safetensors")
    s.add_argument("--device", default="auto")
    s.add_argument("--frame", default="best", help="a cine's frame number, or 'best' (the gate's)")
    s.add_argument("--samples", type=int, default=1, help="variants drawn (uncertainty)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--threshold", type=float, default=0.5, help="skull at this probability")
    s.add_argument(
        "--allow-implausible",
        action="store_true",
        help="give biometry even when a view is not a fetal head plane (recorded)",
    )
    s.add_argument("--overwrite", action="store_true", help="write over earlier outputs")
    s.add_argument("--json", action="store_true", help="one study: print result.json")
    s.set_defaults(func=_cmd_reconstruct)
