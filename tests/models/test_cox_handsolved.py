"""Hand-solved tiny dataset (Therneau & Grambsch 2000, appendix E style; R survival tests/book1.R data).

Six subjects (time, status, x): (9,1,0) (1,1,1) (1,0,1) (6,1,1) (6,1,0) (8,0,0). With r = exp(beta):
  Breslow: LL = 2 beta - log(3r + 3) - 2 log(r + 3)
           U  = 2 - r/(r + 1) - 2r/(r + 3);      I = r/(r + 1)^2 + 6r/(r + 3)^2
           MLE: -r^2 + 3r + 6 = 0  ->  r = (3 + sqrt(33)) / 2
  Efron:   LL = 2 beta - log(3r + 3) - log(r + 3) - log((r + 5)/2)
           U  = 2 - r/(r + 1) - r/(r + 3) - r/(r + 5); I = r/(r + 1)^2 + 3r/(r + 3)^2 + 5r/(r + 5)^2
At beta = 0 (exact fractions): Breslow U = 1, I = 5/8; Efron U = 13/12, I = 83/144.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from cohortstat.models._kernels.cox_kernel import build_risk_sets, evaluate
from cohortstat.models.cox import CoxPH

DF = pd.DataFrame({"time": [9, 1, 1, 6, 6, 8], "status": [1, 1, 0, 1, 1, 0], "x": [0, 1, 1, 1, 0, 0]})


def closed_form(beta, ties):
    r = math.exp(beta)
    if ties == "breslow":
        ll = 2 * beta - math.log(3 * r + 3) - 2 * math.log(r + 3)
        u = 2 - r / (r + 1) - 2 * r / (r + 3)
        i = r / (r + 1) ** 2 + 6 * r / (r + 3) ** 2
    else:
        ll = 2 * beta - math.log(3 * r + 3) - math.log(r + 3) - math.log((r + 5) / 2)
        u = 2 - r / (r + 1) - r / (r + 3) - r / (r + 5)
        i = r / (r + 1) ** 2 + 3 * r / (r + 3) ** 2 + 5 * r / (r + 5) ** 2
    return ll, u, i


def kernel_at(beta, ties, df=DF, entry=None, weights=None):
    X = np.asfortranarray(df[["x"]].to_numpy(float))
    w = np.ones(len(df)) if weights is None else weights
    rs = build_risk_sets(df["time"].to_numpy(float), df["status"].to_numpy(), w, np.zeros(len(df), int),
                         entry, ties == "efron")
    return evaluate(rs, X, w, np.array([beta]))


def test_exact_fractions_at_zero():
    st_b = kernel_at(0.0, "breslow")
    st_e = kernel_at(0.0, "efron")
    assert Fraction(st_b.score[0]).limit_denominator(1000) == Fraction(1)
    assert Fraction(st_b.info[0, 0]).limit_denominator(1000) == Fraction(5, 8)
    assert Fraction(st_e.score[0]).limit_denominator(1000) == Fraction(13, 12)
    assert Fraction(st_e.info[0, 0]).limit_denominator(1000) == Fraction(83, 144)
    assert st_b.loglik == pytest.approx(-math.log(6) - 2 * math.log(4), rel=1e-15)
    assert st_e.loglik == pytest.approx(-math.log(6) - math.log(4) - math.log(3), rel=1e-15)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("beta", [-1.3, 0.0, 0.4, 1.4759, 3.0])
def test_loglik_score_information_closed_form(ties, beta):
    ll, u, i = closed_form(beta, ties)
    st = kernel_at(beta, ties)
    assert st.loglik == pytest.approx(ll, rel=1e-13)
    assert st.score[0] == pytest.approx(u, rel=1e-12, abs=1e-14)
    assert st.info[0, 0] == pytest.approx(i, rel=1e-12)


def test_breslow_mle_closed_form():
    res = CoxPH(ties="breslow").fit(DF, "time", "status", ["x"])
    beta = math.log((3 + math.sqrt(33)) / 2)
    assert res.coef["x"] == pytest.approx(beta, rel=1e-9)
    ll, _, i = closed_form(beta, "breslow")
    assert res.loglik == pytest.approx(ll, rel=1e-12)
    assert res.se["x"] == pytest.approx(1 / math.sqrt(i), rel=1e-8)
    assert res.loglik_null == pytest.approx(-math.log(6) - 2 * math.log(4), rel=1e-14)
    assert res.score_test.stat == pytest.approx(1 / (5 / 8), rel=1e-12)  # U0^2 / I0


def test_efron_mle_solves_closed_form_score():
    res = CoxPH(ties="efron").fit(DF, "time", "status", ["x"])
    beta = optimize.brentq(lambda b: closed_form(b, "efron")[1], 0.0, 5.0, xtol=1e-14)
    assert res.coef["x"] == pytest.approx(beta, rel=1e-9)
    _, _, i = closed_form(beta, "efron")
    assert res.se["x"] == pytest.approx(1 / math.sqrt(i), rel=1e-8)
    assert res.score_test.stat == pytest.approx((13 / 12) ** 2 / (83 / 144), rel=1e-12)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_counting_process_split_equals_unsplit(ties):
    # split every subject at t = 0.5 and t = 4: (start, stop] pieces give the same likelihood
    rows = []
    for t, s, x in DF.itertuples(index=False):
        cuts = [c for c in (0.5, 4.0) if c < t]
        starts = [0.0] + cuts
        stops = cuts + [float(t)]
        for k, (a, b) in enumerate(zip(starts, stops)):
            rows.append((a, b, s if k == len(stops) - 1 else 0, x))
    cp = pd.DataFrame(rows, columns=["start", "time", "status", "x"])
    a = CoxPH(ties=ties).fit(DF, "time", "status", ["x"])
    b = CoxPH(ties=ties).fit(cp, "time", "status", ["x"], entry="start")
    assert b.coef["x"] == pytest.approx(a.coef["x"], rel=1e-10)
    assert b.loglik == pytest.approx(a.loglik, rel=1e-12)
    assert b.se["x"] == pytest.approx(a.se["x"], rel=1e-10)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_entry_equal_to_death_time_is_not_at_risk(ties):
    # a subject entering at t = 6 is not at risk at the deaths of t = 6 (R: start < t <= stop)
    extra = pd.DataFrame({"start": [6.0], "time": [10.0], "status": [0], "x": [1]})
    base = DF.assign(start=0.0)
    both = pd.concat([base, extra], ignore_index=True)
    beta = 0.7
    w = np.ones(len(both))
    st = kernel_at(beta, ties, df=both, entry=both["start"].to_numpy(float), weights=w)
    r = math.exp(beta)
    # at t = 1 the newcomer is not at risk either (entry 6 > 1); at t = 9 it is (6 < 9 <= 10)
    if ties == "breslow":
        ll = 2 * beta - math.log(3 * r + 3) - 2 * math.log(r + 3) - math.log(1 + r)
    else:
        ll = 2 * beta - math.log(3 * r + 3) - math.log(r + 3) - math.log((r + 5) / 2) - math.log(1 + r)
    assert st.loglik == pytest.approx(ll, rel=1e-13)


@pytest.mark.parametrize("ties", ["breslow"])
def test_integer_weights_equal_duplicated_rows(ties):
    # Breslow only: for Efron, R (and cohortstat) count tied deaths by rows, not by weight, so a
    # weight of 2 is not two tied rows (checked against R in tests/reference/cox_weights).
    w = np.array([1, 2, 1, 3, 1, 2])
    weighted = DF.assign(w=w)
    dup = DF.loc[DF.index.repeat(w)].reset_index(drop=True)
    a = CoxPH(ties=ties).fit(weighted, "time", "status", ["x"], weights="w")
    b = CoxPH(ties=ties).fit(dup, "time", "status", ["x"])
    assert a.coef["x"] == pytest.approx(b.coef["x"], rel=1e-10)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)
    assert a.se["x"] == pytest.approx(b.se["x"], rel=1e-10)
