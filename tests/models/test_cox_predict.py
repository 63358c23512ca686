"""Baseline hazard and predicted survival with standard errors against R survfit.coxph
(tests/reference/survfit_coxph: run.R, input.csv, expected.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models import CoxPH

REF = Path(__file__).resolve().parents[1] / "reference" / "survfit_coxph"
EXP = json.loads((REF / "expected.json").read_text())
CASES = {c["name"]: c for c in EXP["cases"]}


def _data():
    d = pd.read_csv(REF / "input.csv")
    d["sex"] = pd.Categorical(d["sex"], categories=["M", "F"])
    return d


def _profiles():
    p = pd.DataFrame(EXP["profiles"])
    p["sex"] = pd.Categorical(p["sex"], categories=["M", "F"])
    return p


def _step(times, values, at):
    """Right-continuous step function through (times, values), value 0 before the first time."""
    j = np.searchsorted(times, at, side="right") - 1
    return np.where(j >= 0, values[np.maximum(j, 0)], 0.0)


@pytest.mark.parametrize("name", list(CASES))
def test_predict_survival_matches_survfit_coxph(name):
    c = CASES[name]
    py = c["python"]
    res = CoxPH(ties=py["ties"]).fit(_data(), "time", "status", py["covariates"], strata=py.get("strata"),
                                     weights=py.get("weights"), offset=py.get("offset"), robust=py.get("robust", False))
    prof = _profiles()
    if name.startswith("strata_"):
        prof = prof.iloc[[0]] if name == "strata_M" else prof.iloc[[1]]
    pred = res.predict_survival(prof, type="efron" if c["ctype"] == 2 else "breslow")
    rt = np.asarray(c["time"])
    surv_r = np.asarray(c["surv"]).reshape(len(rt), -1)
    se_r = np.asarray(c["std_err"]).reshape(len(rt), -1)
    lo_r = np.asarray(c["lower"]).reshape(len(rt), -1)
    for k, (pid, cur) in enumerate(pred.groupby("profile", sort=False)):
        t = cur["time"].to_numpy()
        H = _step(t, cur["cumhaz"].to_numpy(), rt)
        np.testing.assert_allclose(np.exp(-H), surv_r[:, k], rtol=EXP["tolerance"]["surv"])
        ok = rt >= t[0]  # R's std.err is 0 before the first event
        np.testing.assert_allclose(_step(t, cur["se_cumhaz"].to_numpy(), rt)[ok], se_r[ok, k],
                                   rtol=EXP["tolerance"]["std_err"])
        np.testing.assert_allclose(_step(t, cur["lower"].to_numpy(), rt)[ok], lo_r[ok, k], rtol=1e-6)
        assert np.allclose(cur["se_survival"], cur["survival"] * cur["se_cumhaz"])


def test_baseline_hazard_types():
    d = _data()
    res = CoxPH().fit(d, "time", "status", ["age", "ph.ecog"])
    e = res.baseline_hazard()
    b = res.baseline_hazard(type="breslow")
    assert e["time"].equals(b["time"])
    # Efron increments are larger at tied times, equal where one death
    assert (e["increment"] >= b["increment"] - 1e-15).all() and (e["increment"] > b["increment"] * (1 + 1e-9)).any()
    # profile 0 of predict_survival equals the baseline at covariates 0
    p = res.predict_survival(pd.DataFrame({"age": [0.0], "ph.ecog": [0.0]}), type="breslow")
    np.testing.assert_allclose(p["cumhaz"], b["cumhaz"], rtol=1e-12)
    with pytest.raises(ModelInputError, match="type must be"):
        res.baseline_hazard(type="exact")
    with pytest.raises(ModelInputError, match="conf_type"):
        res.predict_survival(d.iloc[:1], conf_type="arcsin")
