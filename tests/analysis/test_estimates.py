"""The tidy estimates table: fixed columns, one row per model term, values and counts from the results."""

from __future__ import annotations


import pytest

from cohortstat import analyze
from cohortstat.analysis.estimates import model_kind
from cohortstat.constants import ESTIMATE_COLUMNS, ESTIMATE_COUNT_COLUMNS

from .helpers import make_study, simulated_cohort


@pytest.fixture(scope="module")
def crude_adjusted():
    return analyze(make_study(outcomes=("lung", "skin")), simulated_cohort(outcomes=("lung", "skin")))


def test_columns_rows_and_values(crude_adjusted):
    est = crude_adjusted.estimates()
    assert tuple(est.columns) == ESTIMATE_COLUMNS
    assert set(ESTIMATE_COUNT_COLUMNS) <= set(est.columns)
    assert len(est) == sum(len(o.models) for o in crude_adjusted.outcomes)
    assert (est["analysis"] == "main").all()
    assert (est[["subgroup", "level", "period"]] == "").all().all()
    assert est[["calibrated_ci_lower", "calibrated_ci_upper", "calibrated_p"]].isna().all().all()
    for o in crude_adjusted.outcomes:
        for r in o.models.to_dict("records"):
            row = est.query("outcome == @o.name and term == @r['term']")
            kind, adjustment, etype = model_kind(r["model"])
            row = row.loc[(row["model"] == kind) & (row["adjustment"] == adjustment)]
            assert len(row) == 1
            row = row.iloc[0]
            assert row["estimate_type"] == etype
            assert (row["estimate"], row["ci_lower"], row["ci_upper"], row["p"]) == (
                r["hr"], r["ci_lower"], r["ci_upper"], r["p"])
        # crude and adjusted models are fitted on everyone at risk: the events of the rates table
        events = o.rates.set_index("group")["events"]
        sub = est.query("outcome == @o.name")
        assert (sub["events_exposed"] == events["sepsis"]).all()
        assert (sub["events_reference"] == events["trauma"]).all()


def test_model_vocabulary(crude_adjusted):
    est = crude_adjusted.estimates()
    assert set(zip(est["model"], est["adjustment"], est["estimate_type"])) == {
        ("cox", "crude", "hr"), ("cox", "adjusted", "hr"), ("fine_gray", "crude", "shr"),
        ("fine_gray", "adjusted", "shr")}
    assert model_kind("cox_ps", "matching") == ("cox", "matched", "hr")
    assert model_kind("fg_ps", "overlap") == ("fine_gray", "weighted", "shr")


def test_matched_estimates_count_events_in_the_matched_sample():
    res = analyze(make_study(confounding={"method": "matching", "ratio": 1, "seed": 2}), simulated_cohort(n=2500))
    est = res.estimates()
    matched = est.loc[est["adjustment"] == "matched"]
    assert set(matched["model"]) == {"cox", "fine_gray"} and set(matched["term"]) == {"exposure"}
    (o,) = res.outcomes
    crude = est.loc[est["adjustment"] == "crude"].iloc[0]
    # fewer persons after matching, so at most as many events in each group
    m = matched.iloc[0]
    assert 0 < m["events_exposed"] <= crude["events_exposed"]
    assert 0 < m["events_reference"] < crude["events_reference"]
    n_events = o.models.query("model == 'cox_ps'")["n_events"].iloc[0]
    assert m["events_exposed"] + m["events_reference"] == n_events


def test_empty_results_give_an_empty_table_with_the_columns():
    cohort = simulated_cohort()
    cohort.table["event_lung"] = 0.0
    est = analyze(make_study(), cohort).estimates()
    assert est.empty and tuple(est.columns) == ESTIMATE_COLUMNS
