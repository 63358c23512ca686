"""Publication of the cumulative incidence at fixed times (report/published_curves.py): the exact value at t,
gated like the curves' steps, and the drawn curves broken at the published times (protect.coarsen_cif)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from cohortstat.analysis.curves import outcome_curves, value_at
from cohortstat.constants import DAYS_PER_YEAR
from cohortstat.report.protect import coarsen_cif
from cohortstat.report.published_curves import fixed_times_rows, published_times, shown_curves

K = 10
Y1, Y5, Y10 = (y * DAYS_PER_YEAR for y in (1, 5, 10))


def _persons(group: str, events: dict, n: int) -> pd.DataFrame:
    """``events``: {time: (outcome events, deaths)}; the others censored at 4000 days."""
    rows = []
    for t, (d1, d2) in events.items():
        rows += [(group, float(t), 1)] * d1 + [(group, float(t), 2)] * d2
    rows += [(group, 4000.0, 0)] * (n - len(rows))
    return pd.DataFrame(rows, columns=["group", "time", "event"])


def _sub() -> pd.DataFrame:
    # a: 3 outcome events by 1 year (too few), 25 by 5 years, 27 by 10 years (2 since 5 years: too few)
    a = _persons("a", {100: (3, 12), 1000: (12, 0), 1500: (10, 0), 3000: (2, 0)}, 400)
    # b: 15 by 1 year (the last ones on day 365), 18 by 5 years (3 since 1 year), 40 by 10 years
    b = _persons("b", {50: (5, 0), 200: (6, 10), 365: (4, 0), 1500: (3, 0), 3100: (22, 1)}, 500)
    return pd.concat([a, b], ignore_index=True)


def _p(hidden=()):
    return SimpleNamespace(ledger=SimpleNamespace(k=K), hidden=lambda *keys: any(k in hidden for k in keys))


def _o(sub=None):
    curves = outcome_curves(_sub() if sub is None else sub, "time", "event", ("a", "b"))
    return SimpleNamespace(name="lung", label="Lung cancer", curves=curves)


def test_fixed_times_are_published_when_each_step_since_the_last_shown_holds_0_or_k_events():
    o = _o()
    assert published_times(_p(), o, "outcome", "a") == (Y5,)  # 3 by 1 y; 25 by 5 y; +2 by 10 y
    assert published_times(_p(), o, "outcome", "b") == (Y1, Y10)  # 15; +3 (hidden); +25 since 1 y
    assert published_times(_p(), o, "death", "a") == (Y1, Y5, Y10)  # 12, then no death since: 0 steps
    assert published_times(_p(), o, "death", "b") == (Y1, Y5)  # 10; 0; +1 by 10 y


def test_a_hidden_group_count_hides_its_fixed_times_as_it_hides_its_curve():
    o = _o()
    assert published_times(_p(hidden={("events", "lung", "a")}), o, "outcome", "a") == ()
    assert published_times(_p(hidden={("events", "lung", "a")}), o, "death", "a") == (Y1, Y5, Y10)


def test_fewer_than_k_at_risk_at_t_hides_the_value():
    sub = _sub()
    sub.loc[(sub["group"] == "b") & (sub["time"] == 4000.0), "time"] = 3500.0  # nobody left at 10 years in b
    o = _o(sub)
    assert Y10 not in published_times(_p(), o, "outcome", "b")


def test_published_values_are_the_exact_estimates_and_the_drawn_curves_pass_through_them():
    p, o = _p(), _o()
    rows = fixed_times_rows(p, o, ("a", "b"), {"a": "A", "b": "B"})
    drawn = shown_curves(p, o, ("a", "b"))
    ft = o.curves.fixed_times
    for r in rows:
        exact = ft.loc[(ft["cause"] == r["cause"]) & (ft["group"] == r["group"]) & (ft["year"] == r["year"])].iloc[0]
        t = float(exact["time"])
        if t not in published_times(p, o, r["cause"], r["group"]):
            assert r["cif_percent"] is None and r["ci_lower_percent"] is None
            continue
        assert r["cif_percent"] == round(100 * exact["estimate"], 10)
        corners = drawn[r["cause"]].loc[drawn[r["cause"]]["group"] == r["group"]]
        assert value_at(corners, t)["estimate"] == exact["estimate"]
    shown = {(r["cause"], r["group"], r["year"]) for r in rows if r["cif_percent"] is not None}
    assert ("outcome", "b", 1) in shown and ("outcome", "b", 5) not in shown and ("outcome", "a", 1) not in shown


def test_a_value_read_off_the_unbroken_curve_would_lag_the_exact_one():
    """Why the curves are broken at the fixed times: without the break, b's drawn value at 1 year lags."""
    o = _o()
    c = o.curves.cif["outcome"]
    b = c.loc[c["group"] == "b"]
    exact = value_at(b, Y1)["estimate"]
    assert value_at(coarsen_cif(b, K), Y1)["estimate"] != exact
    assert value_at(coarsen_cif(b, K, breaks=(Y1,)), Y1)["estimate"] == exact


def test_broken_coarsening_keeps_steps_of_k_events_and_never_spans_a_break():
    rng = np.random.default_rng(11)
    t = np.sort(rng.choice(np.arange(1, 4000), 120, replace=False)).astype(float)
    d = rng.integers(1, 4, t.size)
    cif = pd.DataFrame({"time": t, "n_risk": np.linspace(900, 12, t.size).round(), "n_event": d,
                        "estimate": np.cumsum(d) / 1000, "ci_lower": np.nan, "ci_upper": np.nan})
    breaks = (Y1, Y5, Y10)
    corners = coarsen_cif(cif, K, breaks=breaks)
    cum = pd.Series(np.cumsum(d), index=t)
    at = [0] + [int(cum.loc[:x].iloc[-1]) for x in corners["time"]]
    assert min(np.diff(at)) >= K  # every drawn step holds at least k events
    for b in breaks:  # the drawn value at a break is the exact one there (each segment here holds >= k events)
        assert value_at(corners, b)["estimate"] == value_at(cif, b)["estimate"]
    assert coarsen_cif(cif, K, breaks=()).equals(coarsen_cif(cif, K))


def test_events_too_few_before_a_break_carry_on_to_the_next_pool():
    cif = pd.DataFrame({"time": [10.0, 20.0, 400.0, 500.0], "n_risk": [100, 90, 80, 70], "n_event": [2, 3, 4, 6],
                        "estimate": [0.02, 0.05, 0.09, 0.15]})
    corners = coarsen_cif(cif, K, breaks=(Y1,))  # 5 events before the break: no corner there
    assert corners["time"].tolist() == [500.0]
    tail = coarsen_cif(cif.iloc[:3].assign(n_event=[6, 5, 3]), K, breaks=(Y1,))
    assert tail["time"].tolist() == [20.0]  # 3 events after the last break, too few: not drawn
