"""Shared helpers of the safety red-team tests (outputs, signals, validation, bad data)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from tests.core_study import core_study_path

ROOT = Path(__file__).resolve().parents[2]
STUDY = core_study_path()


def synth(folder: Path, patients: int = 3000, seed: int = 1) -> Path:
    """A small synthetic data folder (both groups non-empty, a few seconds)."""
    from cohortstat.data.synth import generate

    return generate(patients, seed, folder)


def fake_report(folder: Path, data: Path, *, lock_min_cell_count: int = 10, results_min_cell_count: int = 10,
                marked: bool = True) -> Path:
    """A report folder as ``run`` leaves it (lock with the data's fingerprint, results.json), without running."""
    from cohortstat.outputs import MARKER, MARKER_TEXT
    from cohortstat.run import data_fingerprint
    from cohortstat.spec import freeze, load_study

    folder.mkdir(parents=True)
    freeze(load_study(STUDY), folder, extra={"data_fingerprint": data_fingerprint(data), "engine": "duckdb",
                                             "min_cell_count": lock_min_cell_count})
    (folder / "results.json").write_text(json.dumps({"min_cell_count": results_min_cell_count}), encoding="utf-8")
    if marked:
        (folder / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return folder


def cli_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "CI": "1"}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cohortstat", *args]


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary folders (``.NAME.tmp-*``, ``.NAME.old-*``) left in ``folder``."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith(".") and (".tmp-" in p.name or ".old-" in p.name))
