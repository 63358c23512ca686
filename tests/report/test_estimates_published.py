"""The estimates table as published: tables/estimates.csv and results.json, event counts suppressed."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cohortstat import analyze
from cohortstat.constants import ESTIMATE_COLUMNS
from cohortstat.report.writer import write_report

from tests.analysis.helpers import make_study, simulated_cohort

K = 10


def _rare_exposed_cohort():
    """Few exposed events: the exposed count of each model must be suppressed, and stay unrecoverable."""
    c = simulated_cohort(n=1200, seed=11, outcomes=("lung",), hr=0.15)
    return c


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    res = analyze(make_study(confounding={"method": "matching", "ratio": 1, "seed": 2}), _rare_exposed_cohort())
    out = write_report(res, tmp_path_factory.mktemp("r") / "out", K)
    return res, out


def test_csv_and_json_hold_the_same_rows(report):
    res, out = report
    csv = pd.read_csv(out / "tables" / "estimates.csv", dtype=str, keep_default_na=False)
    data = json.loads((out / "results.json").read_text())
    assert tuple(csv.columns) == ESTIMATE_COLUMNS
    assert len(csv) == len(data["estimates"]) == len(res.estimates())
    raw = res.estimates()
    assert [float(v) for v in csv["estimate"]] == list(raw["estimate"])
    assert [r["estimate"] for r in data["estimates"]] == list(raw["estimate"])


def _num(v):
    return None if isinstance(v, str) or v is None else int(v)


def test_event_counts_suppressed_and_not_recoverable(report):
    res, out = report
    data = json.loads((out / "results.json").read_text())
    raw = res.estimates()
    models = {(o, m["model"]): m for o, od in data["outcomes"].items() for m in od["models"]}
    rates = {(o, r["group"]): r for o, od in data["outcomes"].items() for r in od["rates"]}
    hidden = 0
    for row, true in zip(data["estimates"], raw.to_dict("records")):
        for c in ("events_exposed", "events_reference"):
            v = row[c]
            assert not isinstance(v, int) or v == 0 or v >= K
            if isinstance(v, int):
                assert v == true[c]
            else:
                hidden += 1
        e1, e0 = _num(row["events_exposed"]), _num(row["events_reference"])
        # one shown, one hidden: the model's total events must not be shown (else hidden = total - shown)
        if (e1 is None) != (e0 is None):
            for (o, m), mr in models.items():
                if o == row["outcome"] and isinstance(mr["n_events"], int):
                    assert mr["n_events"] != true["events_exposed"] + true["events_reference"]
    assert hidden  # the planted rare exposure gives small exposed counts
    for (o, g), r in rates.items():
        shown = [e["events_exposed" if g == "sepsis" else "events_reference"] for e in data["estimates"]
                 if e["outcome"] == o and e["adjustment"] in ("crude", "adjusted")]
        assert all(s == r["events"] for s in shown)


def test_subgroup_counts_cannot_be_derived_from_the_other_levels(tmp_path):
    import yaml

    from cohortstat.spec import load_study
    from tests.analysis.helpers import shipped_core

    doc = shipped_core()
    doc["outcomes"] = {"lung": doc["outcomes"]["lung"]}
    doc["analyses"].update(subgroups=["sex", "age_band"], periods=[[365, 1000], [1000, 3650]])
    res = analyze(load_study(doc), _rare_exposed_cohort())
    out = write_report(res, tmp_path / "out", K)
    data = json.loads((out / "results.json").read_text())
    rates = {r["group"]: r["events"] for r in data["outcomes"]["lung"]["rates"]}
    for var in ("sex", "age_band"):
        rows = [r for r in data["estimates"] if r["subgroup"] == var and r["term"] == "exposure"]
        for col, group in (("events_exposed", "sepsis"), ("events_reference", "trauma")):
            shown = [r[col] for r in rows]
            hidden = [v for v in shown if not isinstance(v, int)]
            assert all(v == 0 or v >= K for v in shown if isinstance(v, int))
            if isinstance(rates[group], int) and hidden:  # the total is shown: at least two levels hidden
                assert len(hidden) >= 2 or rates[group] - sum(v for v in shown if isinstance(v, int)) == 0
    assert any(not isinstance(r["events_exposed"], int) for r in data["estimates"] if r["subgroup"])
