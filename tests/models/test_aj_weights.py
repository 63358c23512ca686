"""aalen_johansen(weights=): weighted Aalen-Johansen and its infinitesimal-jackknife variance, against
R survfit(Surv(time, factor(status)) ~ grp, weights = w, id = id) (tests/reference/aj_weights)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.nonparametric import aalen_johansen

REF = Path(__file__).resolve().parents[1] / "reference" / "aj_weights"
EXP = json.loads((REF / "expected.json").read_text())
DATA = pd.read_csv(REF / "input.csv")


def _r_rows(case: dict, cause: int) -> pd.DataFrame:
    r = pd.DataFrame({"group": case["strata"], "time": case["time"], "F": case[f"F{cause}"],
                      "se": case[f"se{cause}"], "lower": case[f"lower{cause}"], "upper": case[f"upper{cause}"]})
    return r.apply(pd.to_numeric, errors="coerce").assign(group=case["strata"])


@pytest.mark.parametrize("cause", [1, 2])
def test_weighted_aj_equals_survfit(cause):
    case = EXP["weighted"]
    tol = EXP["tolerance"]
    ours = aalen_johansen(DATA, duration="time", event="event", cause=cause, group="grp", weights="w")
    ref = _r_rows(case, cause)
    merged = ours.merge(ref, on=["group", "time"], how="left", validate="one_to_one", suffixes=("", "_r"))
    assert len(merged) == len(ours) > 20 and merged["F"].notna().all()
    np.testing.assert_allclose(merged["estimate"], merged["F"], rtol=tol["estimate"], atol=0)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=tol["se"])


def test_weighted_aj_limits_equal_survfit():
    case, tol = EXP["weighted"], EXP["tolerance"]
    ours = aalen_johansen(DATA, duration="time", event="event", cause=1, group="grp", weights="w")
    merged = ours.merge(_r_rows(case, 1), on=["group", "time"], suffixes=("", "_r"))
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=tol["se"])
    np.testing.assert_allclose(merged["ci_lower"], merged["lower"], rtol=tol["ci"])
    np.testing.assert_allclose(merged["ci_upper"], merged["upper"], rtol=tol["ci"])


def test_unit_weights_give_the_unweighted_survfit_variance():
    case, tol = EXP["unweighted"], EXP["tolerance"]
    ours = aalen_johansen(DATA.assign(one=1.0), duration="time", event="event", cause=1, group="grp",
                          weights="one")
    merged = ours.merge(_r_rows({**case, "F2": case["F1"], "se2": case["se1"], "lower2": case["lower1"],
                                 "upper2": case["upper1"]}, 1), on=["group", "time"], suffixes=("", "_r"))
    assert len(merged) == len(ours)
    np.testing.assert_allclose(merged["estimate"], merged["F"], rtol=tol["estimate"])
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=tol["se"])


def test_weights_refuse_the_cuminc_variance():
    with pytest.raises(ModelInputError, match="weights="):
        aalen_johansen(DATA, duration="time", event="event", weights="w", variance="cuminc")
