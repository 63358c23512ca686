"""cohortstat CoxPH / ph_test against R survival::coxph / cox.zph (tests/reference/cox_*/).

Each case folder holds run.R (the R call that produced the numbers), input.csv and
expected.json (R and survival versions, tolerances, values). CI has no R: only the JSON is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.models.cox import CoxPH
from cohortstat.models.ph_test import ph_test

REF = Path(__file__).resolve().parents[1] / "reference"
CASES = sorted(p for p in REF.glob("cox_*") if p.is_dir())
FITS = [(case, i) for case in CASES for i in range(len(json.loads((case / "expected.json").read_text())["fits"]))]
ZPH_FITS = [(c, i) for c, i in FITS if json.loads((c / "expected.json").read_text())["fits"][i].get("zph")]
RESID_FITS = [
    (c, i) for c, i in FITS
    if {"score_resid", "basehaz"} & set(json.loads((c / "expected.json").read_text())["fits"][i])
]


def _load(case: Path, i: int):
    exp = json.loads((case / "expected.json").read_text())
    return exp, exp["fits"][i], pd.read_csv(case / "input.csv")


def _fit(rec, df):
    py = rec["python"]
    return CoxPH(ties=py["ties"]).fit(
        df, duration=py["duration"], event=py["event"], covariates=py["covariates"],
        strata=py.get("strata"), weights=py.get("weights"), cluster=py.get("cluster"),
        entry=py.get("entry"), robust=py.get("robust", False), offset=py.get("offset"),
    )


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12))


def test_reference_cases_exist():
    names = {c.name for c in CASES}
    assert {"cox_lung", "cox_veteran", "cox_ties", "cox_strata", "cox_weights", "cox_cluster", "cox_heart"} <= names
    for c in CASES:
        exp = json.loads((c / "expected.json").read_text())
        assert exp["R_version"].startswith("R version") and exp["survival_version"]
        assert (c / "run.R").is_file() and (c / "input.csv").is_file()


@pytest.mark.parametrize(("case", "i"), FITS, ids=[f"{c.name}-{i}" for c, i in FITS])
def test_fit_matches_r(case, i):
    exp, rec, df = _load(case, i)
    tol = exp["tolerance"]
    res = _fit(rec, df)
    assert list(res.coef.index) == rec["terms"]
    assert _rel(res.coef, rec["coef"]) < tol["coef"]
    assert _rel([res.loglik_null, res.loglik], rec["loglik"]) < tol["loglik"]
    assert _rel(res.se, rec["se"]) < tol["se"]
    if rec.get("robust_se") is not None:
        assert _rel(res.robust_se, rec["robust_se"]) < tol["se"]
    else:
        assert res.robust_se is None
    assert res.iterations == rec["iter"]
    assert res.n == rec["n"] and res.n_events == rec["nevent"]
    assert _rel(res.score_test.stat, rec["score_test"]) < 1e-6
    assert _rel(res.wald_test.stat, rec["wald_test"]) < 1e-5
    assert _rel(res.lr_test.stat, rec["lr_test"]) < 1e-6
    tab = res.table()
    assert np.allclose(tab["hr"], np.exp(rec["coef"]), rtol=1e-6)


@pytest.mark.parametrize(("case", "i"), ZPH_FITS, ids=[f"{c.name}-{i}" for c, i in ZPH_FITS])
def test_ph_test_matches_cox_zph(case, i):
    exp, rec, df = _load(case, i)
    res = _fit(rec, df)
    for transform, z in rec["zph"].items():
        got = ph_test(res, transform=transform)
        assert list(got.index) == z["term"]
        assert np.array_equal(got["df"].to_numpy(), np.asarray(z["df"]))
        assert _rel(got["chisq"], z["chisq"]) < exp["tolerance"]["zph"], transform
        assert np.allclose(got["p"], z["p"], rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize(("case", "i"), RESID_FITS, ids=[f"{c.name}-{i}" for c, i in RESID_FITS])
def test_residuals_and_baseline_match_r(case, i):
    exp, rec, df = _load(case, i)
    res = _fit(rec, df)
    tol = exp["tolerance"]["residuals"]
    if "score_resid" in rec:
        np.testing.assert_allclose(res.score_residuals().to_numpy(), np.asarray(rec["score_resid"]), rtol=tol, atol=1e-8)
        got = res.schoenfeld_residuals()[list(res.terms)].to_numpy()
        want = np.asarray(rec["schoenfeld"]).reshape(got.shape)

        def _sorted(a):
            return a[np.lexsort(np.round(a, 6).T[::-1])]

        np.testing.assert_allclose(_sorted(got), _sorted(want), rtol=tol, atol=1e-8)
    if "basehaz" in rec:
        bh = res.baseline_hazard(centered=False)
        rt = np.asarray(rec["basehaz"]["time"])
        rh = np.asarray(rec["basehaz"]["hazard"])
        j = np.searchsorted(rt, bh["time"].to_numpy())
        assert np.all(rt[j] == bh["time"].to_numpy())
        np.testing.assert_allclose(bh["cumhaz"].to_numpy(), rh[j], rtol=1e-6)
