"""Cumulative incidence at fixed times (analysis/curves.py): the exact Aalen-Johansen value at 365.25 k days
with its limits, against R (tests/reference/aj_fixed_times: summary(survfit(...), times=) multi-state,
weighted and not, and cmprsk::timepoints for Gray's variance of the unweighted curves)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.analysis.curves import outcome_curves, value_at
from cohortstat.constants import DAYS_PER_YEAR
from cohortstat.models import aalen_johansen

REF = Path(__file__).resolve().parents[1] / "reference" / "aj_fixed_times"
EXP = json.loads((REF / "expected.json").read_text())
DATA = pd.read_csv(REF / "input.csv").rename(columns={"grp": "group"})
GROUPS = ("a", "b")
CAUSE_NAMES = {1: "outcome", 2: "death"}


def _survfit(case: str, cause: int) -> pd.DataFrame:
    c = EXP[case]
    return pd.DataFrame({"group": c["strata"], "time": c["time"], "F": c[f"F{cause}"],
                         "lower": c[f"lower{cause}"], "upper": c[f"upper{cause}"]})


def _ours(weights: str | None, cause: int) -> pd.DataFrame:
    curves = outcome_curves(DATA, "time", "event", GROUPS, weights=weights)
    ft = curves.fixed_times
    return ft.loc[ft["cause"] == CAUSE_NAMES[cause]].merge(_survfit("weighted" if weights else "unweighted", cause),
                                                          on=["group", "time"], validate="one_to_one")


def test_the_reference_has_exits_tied_at_the_fixed_times():
    for t in EXP["fixed_times"]:
        at = DATA.loc[DATA["time"] == t]
        assert (at["event"] == 1).sum() >= 2 and (at["event"] == 2).sum() >= 1 and (at["event"] == 0).sum() >= 1
    assert EXP["fixed_times"] == [y * DAYS_PER_YEAR for y in (1, 5, 10)]


@pytest.mark.parametrize("cause", [1, 2])
@pytest.mark.parametrize("weights", [None, "w"])
def test_fixed_time_estimates_equal_summary_survfit(weights, cause):
    m = _ours(weights, cause)
    assert len(m) == 6
    np.testing.assert_allclose(m["estimate"], m["F"], rtol=EXP["tolerance"]["estimate"], atol=1e-15)


@pytest.mark.parametrize("cause", [1, 2])
def test_weighted_fixed_time_limits_equal_summary_survfit(cause):
    m = _ours("w", cause)
    np.testing.assert_allclose(m["ci_lower"], m["lower"], rtol=EXP["tolerance"]["ci"])
    np.testing.assert_allclose(m["ci_upper"], m["upper"], rtol=EXP["tolerance"]["ci"])


def test_unweighted_fixed_time_limits_are_the_curves_gray_limits_of_cmprsk_timepoints():
    ft = outcome_curves(DATA, "time", "event", GROUPS).fixed_times
    for r in EXP["gray"]["rows"]:
        ours = ft.loc[(ft["cause"] == CAUSE_NAMES[r["cause"]]) & (ft["group"] == r["group"])].sort_values("time")
        np.testing.assert_allclose(ours["time"], r["time"])
        np.testing.assert_allclose(ours["estimate"], r["estimate"], rtol=EXP["tolerance"]["estimate"])
        np.testing.assert_allclose(ours["ci_lower"], r["lower"], rtol=EXP["tolerance"]["ci"])
        np.testing.assert_allclose(ours["ci_upper"], r["upper"], rtol=EXP["tolerance"]["ci"])


def test_unweighted_survfit_limits_at_fixed_times_from_the_full_curve():
    """The same reading of the full-resolution curve with survfit's own (jackknife) variance gives
    survfit's limits: the value at t is the curve's last corner at or before t, limits included."""
    for cause in (1, 2):
        full = aalen_johansen(DATA, duration="time", event="event", cause=cause, group="group", variance="survfit")
        ref = _survfit("unweighted", cause)
        for r in ref.to_dict("records"):
            v = value_at(full.loc[full["group"] == r["group"]], r["time"])
            np.testing.assert_allclose([v["estimate"], v["ci_lower"], v["ci_upper"]], [r["F"], r["lower"], r["upper"]],
                                       rtol=EXP["tolerance"]["ci"])


def test_fixed_times_count_persons_at_risk_and_with_the_cause_by_t():
    ft = outcome_curves(DATA, "time", "event", GROUPS, weights="w").fixed_times
    for r in ft.to_dict("records"):
        g = DATA.loc[DATA["group"] == r["group"]]
        code = 1 if r["cause"] == "outcome" else 2
        assert r["n_risk"] == int((g["time"] >= r["time"]).sum())
        assert r["n_events"] == int(((g["event"] == code) & (g["time"] <= r["time"])).sum())


def test_an_exit_at_t_counts_at_t_and_not_a_day_before():
    d = pd.DataFrame({"group": ["a"] * 6, "time": [100.0, 365.25, 365.25, 400.0, 2000.0, 2000.0],
                      "event": [0, 1, 1, 0, 2, 0]})
    ft = outcome_curves(d, "time", "event", ("a",)).fixed_times.set_index(["cause", "year"])
    assert ft.loc[("outcome", 1), "estimate"] == pytest.approx(2 / 5)
    assert ft.loc[("outcome", 1), "n_events"] == 2 and ft.loc[("outcome", 1), "n_risk"] == 5
    d.loc[d["time"] == 365.25, "time"] = 366.0  # a day after 1 year: not counted at 1 year
    ft = outcome_curves(d, "time", "event", ("a",)).fixed_times.set_index(["cause", "year"])
    assert ft.loc[("outcome", 1), "estimate"] == 0.0 and ft.loc[("outcome", 1), "n_events"] == 0


def test_a_group_whose_follow_up_ends_before_t_has_no_value_there():
    d = pd.DataFrame({"group": ["a"] * 3 + ["b"] * 3, "time": [50.0, 200.0, 2000.0, 30.0, 60.0, 90.0],
                      "event": [1, 0, 0, 1, 2, 0]})
    ft = outcome_curves(d, "time", "event", ("a", "b")).fixed_times
    b = ft.loc[(ft["group"] == "b") & (ft["cause"] == "outcome")]
    assert list(b["year"]) == [1, 5] and b["estimate"].isna().all() and (b["n_risk"] == 0).all()
    a = ft.loc[(ft["group"] == "a") & (ft["cause"] == "outcome")]
    assert a["estimate"].tolist() == pytest.approx([1 / 3, 1 / 3])
