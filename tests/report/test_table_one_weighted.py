"""A weighted study's Table 1 before and after weighting: weighted percentages, no count after, hidden where
the unweighted cell is hidden."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from cohortstat.analysis import OutcomeResults, StudyResults, table_one
from cohortstat.report.published import publish_data
from cohortstat.report.pubtables import table_one_table
from cohortstat.spec import load_study
from tests.core_study import core_study_path

STUDY = core_study_path()


def _results():
    rng = np.random.default_rng(2)
    n = 400
    g = np.where(np.arange(n) < 150, "sepsis", "trauma")
    t = pd.DataFrame({"group": g, "age": rng.integers(18, 90, n), "sex": rng.integers(1, 3, n),
                      "tobacco": (np.arange(n) < 4).astype(int),  # 4 smokers, all exposed: a small cell
                      "time_lung": rng.uniform(400, 3000, n)})
    w = rng.uniform(0.5, 2.0, n)
    t1 = table_one(t, exposed="sepsis", reference="trauma", flags=["tobacco"])
    adj = table_one(t, exposed="sepsis", reference="trauma", flags=["tobacco"], weights=w)
    att = pd.DataFrame({"step": [0], "rule_id": ["entry"], "description": ["Entry"], "n_sepsis": [150],
                        "n_trauma": [250]})
    empty = OutcomeResults(name="lung", label="Lung cancer",
                           rates=pd.DataFrame(columns=["group", "n", "events", "competing_events", "person_years",
                                                       "rate", "rate_lower", "rate_upper"]),
                           cif=pd.DataFrame(columns=["group", "time", "n_risk", "n_event", "estimate", "se"]),
                           at_risk=pd.DataFrame(columns=["group", "year", "n_risk"]),
                           gray={"stat": float("nan"), "df": 1, "p": float("nan")},
                           models=pd.DataFrame(columns=["model", "term"]), ph=pd.DataFrame(columns=["term"]))
    res = StudyResults(study=load_study(STUDY), groups=("sepsis", "trauma"), labels={"sepsis": "S", "trauma": "T"},
                       attrition=att, table_one=t1, outcomes=(empty,), confounding_method="iptw")
    return dataclasses.replace(res, table_one_adjusted=adj), w, t


def test_weighted_columns_show_weighted_percentages_and_hide_what_table_one_hides():
    res, w, t = _results()
    data, _ = publish_data(res, 10)
    after = {(r["variable"], r["level"]): r for r in data["table_one_adjusted"]}
    female = after[("Sex", "female")]
    exp = (t.group == "sepsis").to_numpy()
    assert female["n_sepsis"] is None  # no count after weighting
    assert abs(female["pct_sepsis"] - 100 * w[exp & (t.sex == 2).to_numpy()].sum() / w[exp].sum()) < 1e-9
    assert after[("Patients", "")]["n_sepsis"] == 150
    tob = after[("Flag: tobacco", "yes")]
    before = {(r["variable"], r["level"]): r for r in data["table_one"]}[("Flag: tobacco", "yes")]
    assert before["n_sepsis"] == "<10" and before["pct_sepsis"] is None
    assert tob["pct_sepsis"] is None and tob["smd"] is None
    table = table_one_table(data, [])
    assert table.header[0][1][0] == "Before weighting" and table.header[0][2][0] == "After weighting †"
    row = next(r for r in table.rows if r.cells[0] == "Tobacco, n (%)")
    assert row.cells[1] == "<10" and row.cells[4] == "-"
    assert any(n.startswith("† Weighted by the propensity-score inverse probability") for n in table.notes)
    sex = next(r for r in table.rows if r.cells[0] == "female")
    assert sex.cells[4].endswith("%") and 1 not in [i for i in sex.counts if i > 3]
