"""Weighted incidence rates and their robust (HC0 sandwich) interval, against R glm(poisson, weights,
offset) + sandwich::vcovHC(type = "HC0") (tests/reference/rate_weighted), a hand-solved case, and the
analysed-population rates of matched and weighted studies."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cohortstat.analysis.analysed_rates import analysed_rates
from cohortstat.analysis.rates import group_rates, weighted_group_rates, weighted_incidence_rate
from cohortstat.errors import ModelInputError

REF = Path(__file__).resolve().parents[1] / "reference" / "rate_weighted"
EXP = json.loads((REF / "expected.json").read_text())
DATA = pd.read_csv(REF / "input.csv")


def test_weighted_rates_equal_r_glm_with_hc0_sandwich():
    ours = weighted_group_rates(DATA, "time", "event", "w", ["a", "b", "z"]).set_index("group")
    tol = EXP["tolerance"]
    for r in EXP["groups"]:
        g = ours.loc[r["group"]]
        assert g["n"] == r["n"]
        assert g["weighted_events"] == pytest.approx(r["weighted_events"], rel=1e-12)
        assert g["weighted_person_years"] == pytest.approx(r["weighted_person_years"], rel=1e-12)
        assert g["rate"] == pytest.approx(r["rate"], rel=tol["rate"], abs=0)
        if r["rate_lower"] is None:  # no weighted event: R's coefficient diverges, the interval is undefined
            assert g["rate"] == 0 and r["glm_rate"] < 1e-6
            assert math.isnan(g["rate_lower"]) and math.isnan(g["rate_upper"])
            continue
        assert r["se_log_rate"] == pytest.approx(r["se_log_rate_vcovHC"], rel=1e-10)  # hand == sandwich pkg
        assert g["rate_lower"] == pytest.approx(r["rate_lower"], rel=tol["ci"], abs=0)
        assert g["rate_upper"] == pytest.approx(r["rate_upper"], rel=tol["ci"], abs=0)


def test_reference_case_covers_ties_and_a_zero_event_group():
    assert DATA.duplicated(["group", "time"]).any() and DATA.duplicated(["group", "w"]).any()
    assert (DATA.groupby("group")["event"].sum() == 0).any()


def test_hand_solved_weighted_rate():
    # d = (1, 0, 1), t = (1, 2, 1) years, w = (1, 2, 1/2): sum(w d) = 3/2, sum(w t) = 11/2, r = 3/11;
    # meat = 1 (8/11)^2 + 4 (6/11)^2 + 1/4 (8/11)^2 = 224/121; Var(log r) = (224/121) / (3/2)^2 = 896/1089
    r = Fraction(3, 11)
    var = Fraction(896, 1089)
    assert (1 * (1 - r) ** 2 + 4 * r**2 * 4 + Fraction(1, 4) * (1 - r) ** 2) / Fraction(9, 4) == var
    out = weighted_incidence_rate([1, 0, 1], [1, 2, 1], [1, 2, 0.5], per=1)
    assert out["weighted_events"] == 1.5 and out["weighted_person_years"] == 5.5
    assert out["rate"] == pytest.approx(3 / 11, rel=1e-15)
    z = stats.norm.ppf(0.975)
    se = math.sqrt(896 / 1089)
    assert out["rate_lower"] == pytest.approx(3 / 11 * math.exp(-z * se), rel=1e-14)
    assert out["rate_upper"] == pytest.approx(3 / 11 * math.exp(z * se), rel=1e-14)


def test_weights_scale_out_and_per_scales_the_rate():
    d, t, w = [1, 0, 1, 1, 0], [0.5, 2, 1, 3, 4], [0.7, 1.3, 2.0, 0.4, 1.0]
    a = weighted_incidence_rate(d, t, w, per=1)
    b = weighted_incidence_rate(d, t, np.array(w) * 3.7, per=1000)
    for key in ("rate", "rate_lower", "rate_upper"):
        assert b[key] == pytest.approx(1000 * a[key], rel=1e-12)


def test_zero_events_and_zero_person_time_do_not_crash():
    zero = weighted_incidence_rate([0, 0], [1, 2], [1.5, 0.5])
    assert zero["rate"] == 0 and math.isnan(zero["rate_lower"]) and math.isnan(zero["rate_upper"])
    empty = weighted_incidence_rate([], [], [])
    assert math.isnan(empty["rate"]) and empty["weighted_events"] == 0


def test_bad_inputs_are_refused():
    with pytest.raises(ModelInputError, match="one value per person"):
        weighted_incidence_rate([1, 0], [1], [1, 1])
    with pytest.raises(ModelInputError, match=">= 0"):
        weighted_incidence_rate([1], [1], [-1])
    with pytest.raises(ModelInputError, match="finite"):
        weighted_incidence_rate([1], [np.nan], [1])


def _table(seed=5, n=300):
    rng = np.random.default_rng(seed)
    exposure = rng.integers(0, 2, n)
    event = rng.choice([0, 1, 2], n, p=[0.6, 0.25, 0.15]).astype(float)
    t = pd.DataFrame({"group": np.where(exposure == 1, "sepsis", "trauma"), "exposure": exposure,
                      "time_lung": np.ceil(rng.uniform(1, 3000, n)), "event_lung": event,
                      "weight": rng.uniform(0.2, 4, n), "matched_set": np.arange(n) // 2})
    t.loc[rng.random(n) < 0.05, "time_lung"] = np.nan  # prevalent cases: not at risk
    return t


def test_analysed_rates_matched_are_counts_with_exact_limits():
    t = _table()
    res = analysed_rates("lung", t, "matching", ("sepsis", "trauma"))
    assert res.population == "matched" and res.label == "matched population" and res.estimand is None
    sub = t.loc[t["time_lung"].notna()].assign(event_lung=lambda x: x["event_lung"].astype(int))
    pd.testing.assert_frame_equal(res.table, group_rates(sub, "time_lung", "event_lung", ("sepsis", "trauma")))


@pytest.mark.parametrize(("method", "estimand", "label"), [("iptw", "ate", "weighted population (ATE)"),
                                                           ("iptw", "att", "weighted population (ATT)"),
                                                           ("overlap", "ate", "weighted population (overlap)")])
def test_analysed_rates_weighted(method, estimand, label):
    t = _table()
    res = analysed_rates("lung", t, method, ("sepsis", "trauma"), estimand)
    assert res.population == "weighted" and res.label == label and res.notes == ()
    sub = t.loc[(t["time_lung"].notna()) & (t["group"] == "trauma")]
    row = res.table.set_index("group").loc["trauma"]
    w, d = sub["weight"].to_numpy(), (sub["event_lung"] == 1).to_numpy()
    assert row["weighted_events"] == pytest.approx(float(w @ d), rel=1e-12)
    assert row["rate"] == pytest.approx(1000 * w @ d / (w @ sub["time_lung"].to_numpy() / 365.25), rel=1e-12)
    assert row["n"] == len(sub) and math.isnan(row["constant_weight"])


def test_analysed_rates_weighted_constant_weights_and_zero_events():
    t = _table()
    t.loc[t["group"] == "sepsis", "weight"] = 1.0  # ATT: the exposed weigh 1
    t.loc[t["group"] == "trauma", "event_lung"] = t.loc[t["group"] == "trauma", "event_lung"].replace(1, 0)
    res = analysed_rates("lung", t, "iptw", ("sepsis", "trauma"), "att")
    rows = res.table.set_index("group")
    assert rows.loc["sepsis", "constant_weight"] == 1.0
    assert rows.loc["sepsis", "weighted_events"] == rows.loc["sepsis", "events"]
    assert rows.loc["trauma", "rate"] == 0 and math.isnan(rows.loc["trauma", "rate_upper"])
    assert res.notes == ("lung: no outcome event of trauma patients in the weighted population: weighted rate 0, "
                         "its confidence interval is not defined",)


def test_no_analysed_rates_without_adjustment():
    t = _table()
    assert analysed_rates("lung", None, "none", ("sepsis", "trauma")) is None
    assert analysed_rates("lung", t, "none", ("sepsis", "trauma")) is None
    # no covariate to adjust on: the confounding step hands back the cohort (no matched set, no weight)
    assert analysed_rates("lung", t.drop(columns=["matched_set"]), "matching", ("sepsis", "trauma")) is None
    assert analysed_rates("lung", t.drop(columns=["weight"]), "iptw", ("sepsis", "trauma")) is None
