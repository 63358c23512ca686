"""Incidence rates of the analysed population as published: results.json, tables/incidence_analysed.csv and
Table 2, with matched counts suppressed like every count and weighted rows hidden with their events."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from cohortstat import analyze
from cohortstat.report.published import publish_data
from cohortstat.report.pubtables import incidence_table
from cohortstat.report.suppression import scan_outputs
from cohortstat.report.writer import write_report
from tests.analysis.helpers import make_study, simulated_cohort

K = 10


@pytest.fixture(scope="module")
def weighted(tmp_path_factory):
    res = analyze(make_study(confounding={"method": "iptw", "estimand": "att", "trim": [0.05, 0.95]}),
                  simulated_cohort(n=1500))
    return res, write_report(res, tmp_path_factory.mktemp("w") / "out", K)


def test_weighted_rates_reach_json_csv_and_table_two(weighted):
    res, out = weighted
    data = json.loads((out / "results.json").read_text())
    ar = data["outcomes"]["lung"]["analysed_rates"]
    assert ar["population"] == "weighted" and ar["label"] == "weighted population (ATT)"
    raw = res.outcomes[0].analysed_rates.table.set_index("group")
    for r in ar["rows"]:
        assert set(r) == {"group", "weighted_events", "weighted_person_years", "rate", "rate_lower", "rate_upper"}
        assert r["rate"] == pytest.approx(raw.loc[r["group"], "rate"], rel=1e-12)
    csv = pd.read_csv(out / "tables" / "incidence_analysed.csv")
    assert list(csv["population"]) == ["weighted", "weighted"] and "n" not in csv
    rows = [r for r in incidence_table(data).rows]
    sections = [r.cells[0] for r in rows if r.section]
    assert sections == ["All patients (before adjustment)", "Weighted population (ATT)"]
    last = rows[-1]
    assert last.cells[2] == "-" and last.counts == ()  # no count of the weighted population
    assert "sandwich" in (out / "report.html").read_text()
    assert scan_outputs(out, K) == []


def test_weighted_rows_hide_with_the_cohort_events(weighted):
    res, _ = weighted
    lo = res.outcomes[0]
    few = lo.rates.assign(events=lambda x: x["events"].where(x["group"] != "trauma", 3))
    small = dataclasses.replace(res, outcomes=(dataclasses.replace(lo, rates=few),))
    data, p = publish_data(small, K)
    rows = {r["group"]: r for r in data["outcomes"]["lung"]["analysed_rates"]["rows"]}
    assert rows["trauma"]["weighted_events"] is None and rows["trauma"]["rate"] is None
    assert rows["trauma"]["weighted_person_years"] is not None  # person-time is not a count
    assert rows["sepsis"]["rate"] is not None


def test_att_exposed_weighted_events_are_a_count_tied_to_the_cohort(weighted):
    res, _ = weighted
    data, p = publish_data(res, K)
    keys = p.ctx.analysed_rates["lung"]
    # the exposed weigh 1 under ATT: their weighted events are a count; trimming left out some events
    exp = res.outcomes[0].analysed_rates.table.set_index("group").loc["sepsis"]
    assert exp["constant_weight"] == 1.0
    key = keys["sepsis"]["events"]
    assert p.ledger.value(key) == exp["events"]


def test_matched_rates_are_counts_of_the_ledger():
    res = analyze(make_study(confounding={"method": "matching", "ratio": 2, "seed": 3}), simulated_cohort(n=900))
    data, p = publish_data(res, K)
    ar = data["outcomes"]["lung"]["analysed_rates"]
    assert ar["population"] == "matched" and ar["label"] == "matched population"
    raw = res.outcomes[0].analysed_rates.table.set_index("group")
    for r in ar["rows"]:
        keys = p.ctx.analysed_rates["lung"][r["group"]]
        for c in ("n", "events", "competing_events"):
            assert p.ledger.value(keys[c]) == raw.loc[r["group"], c]
            assert r[c] == p.show(keys[c])
        if p.hidden(keys["events"]):
            assert r["rate"] is None
        else:
            assert r["rate"] == pytest.approx(raw.loc[r["group"], "rate"], rel=1e-12)
    rows = incidence_table(data).rows
    assert [r.cells[0] for r in rows if r.section] == ["All patients (before adjustment)", "Matched population"]
    assert rows[-1].counts == (2, 3, 4)


def test_matched_counts_do_not_reveal_a_small_difference_from_the_cohort():
    # 13 exposed at risk and 7 of their events fall outside the matched sets: the 7 must not be derivable
    res = analyze(make_study(confounding={"method": "matching", "ratio": 1, "seed": 1, "caliper_sd": 0.05}),
                  simulated_cohort(n=500, seed=3))
    data, p = publish_data(res, K)
    cohort = {r["group"]: r for r in data["outcomes"]["lung"]["rates"]}
    matched = {r["group"]: r for r in data["outcomes"]["lung"]["analysed_rates"]["rows"]}
    raw = res.outcomes[0]
    gaps = raw.rates.set_index("group")["events"] - raw.analysed_rates.table.set_index("group")["events"]
    assert 0 < gaps["sepsis"] < K
    for g in cohort:
        for c in ("n", "events", "competing_events"):
            a, b = cohort[g][c], matched[g][c]
            if isinstance(a, int) and isinstance(b, int):
                assert a - b == 0 or a - b >= K, (g, c, a, b)
    assert matched["sepsis"]["events"] == "*" and matched["sepsis"]["rate"] is None


@pytest.mark.parametrize(("conf", "words"), [({"method": "matching"}, "matched population (patients, events"),
                                             ({"method": "overlap"}, "robust (HC0 sandwich) variance of an "
                                                                     "intercept-only Poisson model")])
def test_methods_say_how_the_analysed_rates_are_computed(conf, words):
    from cohortstat.report.methods import methods_text

    text = " ".join(methods_text(make_study(confounding=conf), {"python": "3"}))
    assert words in text
    assert "intercept-only" not in " ".join(methods_text(make_study(), {"python": "3"}))
