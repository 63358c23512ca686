"""Negative controls: analysed like outcomes; empirical calibration fills the calibrated columns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cohortstat import analyze
from cohortstat.errors import SpecError
from cohortstat.models.calibration import calibrate_ci, calibrate_p, fit_null
from cohortstat.spec import load_study
from cohortstat.spec.variants import with_negative_controls

from .helpers import shipped_core, simulated_cohort

CONTROLS = ["skin_cancer", "oropharynx_cancer", "breast_cancer", "tobacco", "alcohol"]


def _doc(controls=CONTROLS):
    doc = shipped_core()
    doc["outcomes"] = {"lung": doc["outcomes"]["lung"]}
    doc["negative_controls"] = list(controls)
    return doc


def _exposure(outcome, model):
    m = outcome.models
    return m.loc[(m["model"] == model) & (m["term"] == "exposure")].iloc[0]


@pytest.fixture(scope="module")
def results():
    study = load_study(_doc())
    cohort = simulated_cohort(n=3000, seed=4, outcomes=("lung", *[f"nc_{c}" for c in CONTROLS]), hr=1.3)
    return analyze(study, cohort)


def test_fewer_than_five_controls_or_unknown_concept_set_is_a_located_error():
    with pytest.raises(SpecError) as info:
        load_study(_doc(CONTROLS[:4]))
    assert dict(info.value.errors)["negative_controls"].startswith("4 negative control(s)")
    with pytest.raises(SpecError) as info:
        load_study(_doc([*CONTROLS, "nope"]))
    assert "unknown concept set 'nope'" in dict(info.value.errors)["negative_controls.5"]


def test_controls_become_outcomes_of_the_built_study_only():
    study = load_study(_doc())
    built = with_negative_controls(study)
    assert set(built.outcomes) == {"lung", *[f"nc_{c}" for c in CONTROLS]} and built.negative_controls == ()
    assert set(study.outcomes) == {"lung"}


def test_calibrated_columns_equal_the_calibration_of_the_control_estimates(results):
    est = results.estimates()
    assert {f"nc_{c}" for c in CONTROLS} <= set(est["outcome"])
    controls = est.query("outcome != 'lung'")
    assert controls[["calibrated_p", "calibrated_ci_lower"]].isna().all().all()
    for model in ("cox_crude", "cox_adjusted"):
        rows = [_exposure(o, model) for o in results.controls]
        null = fit_null(np.array([r["coef"] for r in rows]), np.array([r["se"] for r in rows]))
        (main,) = [o for o in results.outcomes]
        m = _exposure(main, model)
        ci = calibrate_ci(null, [m["coef"]], [m["se"]]).iloc[0]
        adjustment = model.split("_")[1]
        row = est.query("outcome == 'lung' and model == 'cox' and adjustment == @adjustment and term == 'exposure'")
        row = row.iloc[0]
        assert row["calibrated_ci_lower"] == ci["ci_lower"] and row["calibrated_ci_upper"] == ci["ci_upper"]
        assert row["calibrated_p"] == calibrate_p(null, [m["coef"]], [m["se"]])[0]
        assert math.isfinite(row["calibrated_p"])
