"""The planted truth is what the data say: calibration, recovery by Cox, and the cohort builder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat.data import _synth_params as P
from cohortstat.data import synth
from cohortstat.models.cox import CoxPH

ADJUST = ["exposure", "age", "sex", "charlson", "tobacco"]


def _rate_per_day(par: dict[str, float], df: pd.DataFrame) -> np.ndarray:
    lp = (np.log(par["base_per_year"] / 365.25) + par["age"] * (df["age"] - P.AGE_CENTRE)
          + par["female"] * (df["sex"] == 2) + par["charlson"] * df["charlson"]
          + par["tobacco"] * df["tobacco"] + par["exposure"] * df["exposure"])
    return np.exp(lp.to_numpy(float))


@pytest.mark.parametrize("outcome", list(P.OUTCOMES))
def test_event_counts_match_planted_hazards(large_truth, outcome):
    """Observed events vs sum of planted hazard x person-days at risk, per group (Poisson |z| < 4)."""
    d = large_truth.dropna(subset=[f"time_{outcome}"])
    time = d[f"time_{outcome}"].to_numpy()
    event = d[f"event_{outcome}"].to_numpy()
    for g in (0, 1):
        m = (d["exposure"] == g).to_numpy()
        for code, par in ((1, P.OUTCOMES[outcome]), (2, P.DEATH)):
            expected = float((_rate_per_day(par, d[m]) * time[m]).sum())
            observed = int((event[m] == code).sum())
            z = (observed - expected) / np.sqrt(expected)
            assert abs(z) < 4, (outcome, g, code, observed, expected)
            assert observed >= 30


def test_cox_recovers_planted_lung_effect(large_truth):
    d = large_truth.dropna(subset=["time_lung"])
    res = CoxPH().fit(d, duration="time_lung", event="event_lung", covariates=ADJUST)
    tab = res.table().set_index("term")
    truth = P.OUTCOMES["lung"]
    lo, hi = tab.loc["exposure", ["ci_lower", "ci_upper"]]  # hazard-ratio scale
    assert np.log(lo) < truth["exposure"] < np.log(hi)
    assert res.n_events > 1_000
    for term, key in (("age", "age"), ("sex", "female"), ("charlson", "charlson"), ("tobacco", "tobacco")):
        coef, se = tab.loc[term, "coef"], tab.loc[term, "se"]
        assert abs(coef - truth[key]) < 4 * se, term


def test_confounding_is_planted(large_truth):
    """Crude and adjusted lung hazard ratios of exposure differ (age, tobacco, Charlson confound)."""
    d = large_truth.dropna(subset=["time_lung"])
    adj = CoxPH().fit(d, duration="time_lung", event="event_lung", covariates=ADJUST).table().set_index("term")
    crude = CoxPH().fit(d, duration="time_lung", event="event_lung", covariates=["exposure"])
    c = float(crude.table().set_index("term").loc["exposure", "coef"])
    a, se = adj.loc["exposure", "coef"], adj.loc["exposure", "se"]
    assert abs(c - a) > 2 * se
    exposed, reference = d[d.exposure == 1], d[d.exposure == 0]
    assert exposed.age.mean() > reference.age.mean() + 2
    assert exposed.tobacco.mean() > reference.tobacco.mean()


def test_cohort_builder_reproduces_ground_truth(tmp_path):
    """The shipped study on the generated files gives exactly the generator's analysis table."""
    import cohortstat

    n, seed = 6_000, 3
    folder = synth.generate(n, seed, tmp_path / "d")
    study = cohortstat.load_study("studies/sepsis_cancer.yaml")
    table = cohortstat.build_cohort(study, data=folder).table
    truth = synth.ground_truth_table(n, seed)
    outcomes = list(study.outcomes)
    cols = ["exposure", "index_admission", "index_discharge", "age", "sex", "calendar_year", "charlson",
            "tobacco", "alcohol"] + [f"{a}_{o}" for o in outcomes for a in ("time", "event")]
    a = table[cols].sort_values(cols).reset_index(drop=True)
    b = truth[cols].sort_values(cols).reset_index(drop=True)
    assert len(a) == len(b) > 4_000
    for c in cols:
        if c.startswith(("time_", "event_")):
            np.testing.assert_array_equal(a[c].to_numpy(float), b[c].to_numpy(float), err_msg=c)
        else:
            assert (a[c].to_numpy() == b[c].to_numpy()).all(), c


@pytest.mark.parametrize("outcome", ["skin", "oropharynx", "breast"])
def test_cox_other_sites_near_planted_effect(large_truth, outcome):
    """Other sites: exposure log-HR within 4 SE (several tests at one seed: a loose band).

    At this seed oropharynx lies 3.3 SE from the truth; over 24 other seeds at 100k its z-scores had
    mean 0.12 and SD 0.83 (docs/synthetic-data.md), i.e. chance, not bias.
    """
    d = large_truth.dropna(subset=[f"time_{outcome}"])
    tab = CoxPH().fit(d, duration=f"time_{outcome}", event=f"event_{outcome}", covariates=ADJUST).table().set_index("term")
    assert abs(tab.loc["exposure", "coef"] - P.OUTCOMES[outcome]["exposure"]) < 4 * tab.loc["exposure", "se"]


@pytest.mark.parametrize("outcome", list(P.OUTCOMES)[:4])
def test_proportional_hazards_hold_after_blanking(large_truth, outcome):
    from cohortstat.models.ph_test import ph_test

    d = large_truth.dropna(subset=[f"time_{outcome}"])
    res = CoxPH().fit(d, duration=f"time_{outcome}", event=f"event_{outcome}", covariates=ADJUST)
    assert ph_test(res).loc["GLOBAL", "p"] > 0.01
