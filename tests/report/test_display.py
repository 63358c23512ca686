"""Results in a notebook: ``_repr_html_`` and ``summary()`` of model and study results."""

from __future__ import annotations

import html.parser

import numpy as np
import pandas as pd

from cohortstat.analysis import OutcomeResults, StudyResults, table_one
from cohortstat.models import CoxPH
from cohortstat.spec import load_study
from tests.core_study import core_study_path

STUDY = core_study_path()


class _Tables(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _parse(text: str) -> _Tables:
    p = _Tables()
    p.feed(text)
    return p


def _data(n=400, seed=3):
    rng = np.random.default_rng(seed)
    exp = rng.integers(0, 2, n)
    t = pd.DataFrame({"group": np.where(exp == 1, "sepsis", "trauma"), "exposure": exp,
                      "age": rng.integers(18, 90, n), "sex": rng.integers(1, 3, n)})
    time = rng.exponential(1000 / np.exp(0.7 * exp), n).round() + 1
    cens = rng.uniform(0, 1500, n).round() + 1
    t["time_lung"] = np.minimum(time, cens)
    t["event_lung"] = (time <= cens).astype(int)
    return t


def test_cox_result_renders_its_coefficient_table_as_html():
    res = CoxPH().fit(_data(), duration="time_lung", event="event_lung", covariates=["exposure", "age"])
    page = _parse(res._repr_html_())
    assert page.tags.count("table") == 1 and "th" in page.tags
    text = " ".join(page.text)
    assert "exposure" in text and "age" in text and f"n = {res.n:,}" in text
    assert f"{res.hazard_ratio['exposure']:.4g}" in text
    assert "exposure" in res.summary() and "events" in res.summary()


def test_study_results_summary_and_html_show_rates_and_hazard_ratios():
    t = _data()
    res = CoxPH().fit(t, duration="time_lung", event="event_lung", covariates=["exposure"])
    models = res.table()
    models.insert(0, "model", "cox_crude")
    models["n"], models["n_events"] = res.n, res.n_events
    rates = pd.DataFrame([{"group": g, "n": int((t.group == g).sum()), "events": int(t.event_lung[t.group == g].sum()),
                           "competing_events": 0, "person_years": 100.0, "rate": 1.0, "rate_lower": 0.5,
                           "rate_upper": 2.0} for g in ("sepsis", "trauma")])
    o = OutcomeResults(name="lung", label="Lung cancer", rates=rates, cif=pd.DataFrame(), at_risk=pd.DataFrame(),
                       gray={"stat": 1.0, "df": 1, "p": 0.3}, models=models, ph=pd.DataFrame())
    att = pd.DataFrame({"step": [0], "rule_id": ["entry"], "description": ["Entry"],
                        "n_sepsis": [int((t.group == "sepsis").sum())], "n_trauma": [int((t.group == "trauma").sum())]})
    study = StudyResults(study=load_study(STUDY), groups=("sepsis", "trauma"),
                         labels={"sepsis": "Sepsis", "trauma": "Trauma"}, attrition=att,
                         table_one=table_one(t, exposed="sepsis", reference="trauma"), outcomes=(o,))
    text = study.summary()
    assert "Sepsis: " + f"{att.n_sepsis[0]:,} patients" in text
    assert "Lung cancer" in text and "Cox, crude" in text
    page = _parse(study._repr_html_())
    assert page.tags.count("table") == 2
    assert "Lung cancer" in " ".join(page.text) and f"{res.hazard_ratio['exposure']:.3g}" in " ".join(page.text)
