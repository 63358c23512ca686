"""FineGray: hand-solved tiny example, crr references (tests/reference/fg_*), input errors."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models._kernels.fg_kernel import fg_eval, fg_setup
from cohortstat.models.finegray import FineGray

REF = Path(__file__).resolve().parents[1] / "reference"

# Tiny data: times 1..5, statuses (2, 0, 1, 2, 1), x = (1, 0, 1, 0, 0).
# Censoring KM: G = 1 before t=2, 3/4 from t=2 on (4 at risk at 2, one censored).
# Risk set at t=3: subjects 3,4,5 (weight 1) + competing subject 1 with G(3-)/G(1-) = 3/4.
# Risk set at t=5: subject 5, competing 4 with G(5-)/G(4-) = 1, competing 1 with 3/4.
TINY = pd.DataFrame({"time": [1.0, 2, 3, 4, 5], "status": [2, 0, 1, 2, 1], "x": [1.0, 0, 1, 0, 0]})


def _setup(df):
    t = df["time"].to_numpy(float)
    st = df["status"].to_numpy().astype(np.int8)
    return fg_setup(t, st, np.zeros(len(t), dtype=np.int64), 1)


def test_ipcw_weights_hand_solved():
    s = _setup(TINY)
    assert s.uft.tolist() == [3.0, 5.0]
    assert s.Gi.tolist() == [1.0, 1.0, 0.75, 0.75, 0.75]
    assert s.Gk[0].tolist() == [0.75, 0.75]
    # at b = 0: S0(3) = 3 + 3/4, S0(5) = 2 + 3/4
    ev = fg_eval(s, TINY[["x"]].to_numpy(), np.zeros(1))
    assert ev.S0.tolist() == [3.75, 2.75]


def test_censoring_tied_with_failure_not_in_weight():
    # add a censoring at t=3, tied with the failure at 3. At t=2, 5 are at risk: G = 4/5.
    # The censoring at 3 does not enter G(3-) = 4/5; at 3, 4 are at risk (the failure counts as at
    # risk for the tied censoring): G(5-) = 4/5 * 3/4 = 3/5.
    df = pd.concat([TINY, pd.DataFrame({"time": [3.0], "status": [0], "x": [0.0]})], ignore_index=True)
    df = df.sort_values("time", kind="stable").reset_index(drop=True)
    s = _setup(df)
    assert s.Gk[0][0] == pytest.approx(0.8, abs=1e-15)
    assert s.Gk[0][1] == pytest.approx(0.6, abs=1e-15)


def test_partial_likelihood_hand_solved():
    ev = fg_eval(_setup(TINY), TINY[["x"]].to_numpy(), np.zeros(1))
    assert ev.loglik == pytest.approx(-np.log(3.75) - np.log(2.75), abs=1e-14)
    score = Fraction(8, 15) - Fraction(3, 11)
    info = Fraction(56, 225) + Fraction(24, 121)
    assert ev.score[0] == pytest.approx(float(score), abs=1e-14)
    assert ev.info[0, 0] == pytest.approx(float(info), abs=1e-14)
    # score equation 1 = 7u/(8+7u) + 3u/(8+3u) solves to u = exp(b) = 8/sqrt(21)
    res = FineGray(cause=1).fit(TINY, duration="time", event="status", covariates=["x"])
    assert res.coef["x"] == pytest.approx(np.log(8 / np.sqrt(21)), abs=1e-5)  # crr's gtol stops early
    tight = FineGray(cause=1, gtol=1e-13).fit(TINY, duration="time", event="status", covariates=["x"])
    assert tight.coef["x"] == pytest.approx(np.log(8 / np.sqrt(21)), abs=1e-12)
    assert res.loglik_null == pytest.approx(-np.log(3.75) - np.log(2.75), abs=1e-14)


def _close(a, b, rtol, scale=None):
    a, b = np.asarray(a, float), np.asarray(b, float)
    denom = np.abs(b) if scale is None else scale
    return np.max(np.abs(a - b) / denom) < rtol


@pytest.mark.parametrize("case", range(6))
def test_crr_reference_simulated(case):
    exp = json.loads((REF / "fg_sim" / "expected.json").read_text())
    c = exp["cases"][case]
    tol = exp["tolerance"]
    d = pd.read_csv(REF / "fg_sim" / "input.csv")
    cg = c["cengroup"] if isinstance(c["cengroup"], str) else None
    res = FineGray(cause=c["cause"]).fit(d, duration=c["time"], event="status",
                                         covariates=["x1", "x2", "x3"], cengroup=cg)
    assert _close(res.coef, c["coef"], tol["estimate"])
    var_r = np.array(c["var"])
    assert _close(np.asarray(res.var), var_r, tol["variance"], scale=np.abs(var_r).max())
    assert res.loglik == pytest.approx(c["loglik"], rel=tol["estimate"])
    assert res.loglik_null == pytest.approx(c["loglik_null"], rel=tol["estimate"])
    assert res.converged == c["converged"]
    # baseline and predicted CIF as predict.crr
    assert _close(res.baseline["time"], c["uftime"], 1e-12)
    assert _close(res.baseline["jump"], c["bfitj"], tol["estimate"])
    cif = np.array(c["predict_cif"])
    for j, prof in enumerate(([0, 0, 65], [1, 1, 70])):
        pr = res.predict_cif(dict(zip(["x1", "x2", "x3"], prof)))
        assert _close(pr["cif"], cif[:, j], tol["estimate"])


@pytest.mark.parametrize("cause", [1, 2])
def test_crr_reference_mgus2(cause):
    exp = json.loads((REF / "fg_mgus2" / "expected.json").read_text())
    c = exp["crr"][cause - 1]
    d = pd.read_csv(REF / "fg_mgus2" / "input.csv")
    res = FineGray(cause=cause).fit(d, duration="etime", event="event", covariates=["age", "sex", "mspike"])
    assert list(res.coef.index) == ["age", "sex[M]", "mspike"] and c["terms"] == ["age", "sexM", "mspike"]
    assert _close(res.coef, c["coef"], 1e-6)
    var_r = np.array(c["var"])
    assert _close(np.asarray(res.var), var_r, 1e-5, scale=np.abs(var_r).max())
    assert _close(np.sqrt(np.diag(res.var)), np.sqrt(np.diag(var_r)), 1e-5)
    assert res.loglik == pytest.approx(c["loglik"], rel=1e-6)
    assert res.loglik_null == pytest.approx(c["loglik_null"], rel=1e-6)
    tab = res.table()
    assert list(tab.columns) == ["term", "coef", "hr", "se", "robust_se", "ci_lower", "ci_upper", "z", "p"]
    assert tab["robust_se"].isna().all() and np.allclose(tab["hr"], np.exp(tab["coef"]))


def test_row_order_does_not_matter():
    d = pd.read_csv(REF / "fg_sim" / "input.csv")
    a = FineGray().fit(d, duration="time_int", event="status", covariates=["x1", "x2"])
    b = FineGray().fit(d.sample(frac=1, random_state=3), duration="time_int", event="status",
                       covariates=["x1", "x2"])
    assert np.allclose(a.coef, b.coef, rtol=1e-10) and np.allclose(a.var, b.var, rtol=1e-9)


def test_input_errors():
    with pytest.raises(ModelInputError, match="variance must be"):
        FineGray(variance="sandwich")
    with pytest.raises(ModelInputError, match="survival column.* not found"):
        FineGray().fit(TINY, duration="t", event="status", covariates=["x"])
    with pytest.raises(ModelInputError, match="weights= is not defined for crr"):
        FineGray().fit(TINY.assign(w=1.0), duration="time", event="status", covariates=["x"], weights="w")
    with pytest.raises(ModelInputError, match="no event of cause 3"):
        FineGray(cause=3).fit(TINY, duration="time", event="status", covariates=["x"])
    with pytest.raises(ModelInputError, match="negative value"):
        FineGray().fit(TINY.assign(time=-TINY["time"]), duration="time", event="status", covariates=["x"])
    with pytest.raises(ModelInputError, match="0 \\(censored\\) or positive integer"):
        FineGray().fit(TINY.assign(status=[0.5, 0, 1, 2, 1]), duration="time", event="status",
                       covariates=["x"])


@pytest.mark.parametrize("case", range(4))
def test_robust_reference_mgus2(case):
    """variance='robust' equals finegray + coxph(weights = fgwt, ties = 'breslow', cluster)."""
    exp = json.loads((REF / "fg_mgus2" / "expected.json").read_text())
    c = exp["robust"][case]
    d = pd.read_csv(REF / "fg_mgus2" / "input.csv")
    res = FineGray(cause=c["cause"], variance="robust").fit(
        d, duration="etime", event="event", covariates=["age", "sex", "mspike"],
        weights="w" if c["weighted"] else None, cluster=None if c["cluster"] == "id" else c["cluster"])
    assert _close(res.coef, c["coef"], 1e-6)
    assert _close(res.se, c["se"], 1e-5)
    assert _close(res.robust_se, c["robust_se"], 1e-5)
    assert res.loglik == pytest.approx(c["loglik"], rel=1e-6)
    assert res.loglik_null == pytest.approx(c["loglik_null"], rel=1e-6)
    tab = res.table()
    z = tab["coef"] / tab["robust_se"]
    assert np.allclose(tab["z"], z)


def test_robust_differs_from_crr_only_by_tie_rule():
    # with continuous times (no censoring tied with an event) both weightings coincide
    d = pd.read_csv(REF / "fg_sim" / "input.csv")
    a = FineGray().fit(d, duration="time", event="status", covariates=["x1", "x2"])
    b = FineGray(variance="robust").fit(d, duration="time", event="status", covariates=["x1", "x2"])
    assert np.allclose(a.coef, b.coef, rtol=1e-5)
    with pytest.raises(ModelInputError, match="cengroup= is crr's option"):
        FineGray(variance="robust").fit(d, duration="time", event="status", covariates=["x1"], cengroup="cg")


def test_pathological_zero_times_and_ties_everywhere():
    exp = json.loads((REF / "fg_pathological" / "expected.json").read_text())["ties_zero"]
    d = pd.read_csv(REF / "fg_pathological" / "input.csv")
    res = FineGray().fit(d, duration="time", event="event", covariates=["x", "z"])
    assert _close(res.coef, exp["coef"], 1e-6)
    var_r = np.array(exp["var"])
    assert _close(np.asarray(res.var), var_r, 1e-5, scale=np.abs(var_r).max())
    assert res.loglik == pytest.approx(exp["loglik"], rel=1e-6)


def test_pathological_separation_warns_like_crr():
    from cohortstat.errors import ConvergenceWarning

    exp = json.loads((REF / "fg_pathological" / "expected.json").read_text())["one_event"]
    d = pd.read_csv(REF / "fg_pathological" / "input_one_event.csv")
    assert exp["converged"] is False
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = FineGray(max_iter=10).fit(d, duration="time", event="event", covariates=["x"])
    # same Newton path as crr: the same (diverging) value after crr's 10 iterations
    assert res.coef["x"] == pytest.approx(exp["coef"][0] if isinstance(exp["coef"], list) else exp["coef"], rel=1e-6)
    assert not res.converged and any("did not converge" in n for n in res.notes)


def test_pathological_all_censored_and_categorical():
    d = TINY.assign(status=0)
    with pytest.raises(ModelInputError, match="no event of cause 1"):
        FineGray().fit(d, duration="time", event="status", covariates=["x"])
    d = pd.read_csv(REF / "fg_mgus2" / "input.csv").assign(sexc=lambda f: f["sex"].astype("category"))
    a = FineGray().fit(d, duration="etime", event="event", covariates=["age", "sexc"])
    assert list(a.coef.index) == ["age", "sexc[M]"]
