"""The shipped study without its designs, for tests that exercise something else with a real study.

`studies/sepsis_cancer.yaml` carries negative controls, sensitivity variants, subgroups and periods;
a run of it costs many model fits. Tests of the run machinery (interrupts, disclosure, sites, report
layout) use this core: the same cohorts, outcomes, covariates and analyses, without those designs.
Tests of the designs use the shipped study itself.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import yaml

SHIPPED = Path(__file__).resolve().parents[1] / "studies" / "sepsis_cancer.yaml"


def core_document() -> dict:
    """The shipped study's document without negative controls, variants, subgroups, periods and the two
    outcomes planted for them."""
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    for key in ("negative_controls", "sensitivity"):
        data.pop(key, None)
    for key in ("subgroups", "age_bands", "periods"):
        data["analyses"].pop(key, None)
    for key in ("myeloid", "in_situ"):  # outcomes planted for the designs (effects by age band, by period)
        data["outcomes"].pop(key, None)
    return data


def core_text() -> str:
    """:func:`core_document` as YAML text."""
    return yaml.safe_dump(core_document(), sort_keys=False)


@functools.cache
def core_study_path() -> Path:
    """:func:`core_document` written once per test session into a temporary folder, removed when the
    session ends."""
    folder = Path(tempfile.mkdtemp(prefix="cohortstat-core-study-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "sepsis_cancer_core.yaml"
    path.write_text(core_text(), encoding="utf-8")
    return path
