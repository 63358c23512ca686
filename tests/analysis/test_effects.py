"""Subgroup and period-specific hazard ratios in the estimates table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat import analyze
from cohortstat.analysis.effects import _age_bands, age_band_labels
from cohortstat.models.subgroups import subgroup_hazard_ratios
from cohortstat.spec import load_study

from .helpers import shipped_core, simulated_cohort


def _study(**analyses):
    doc = shipped_core()
    doc["outcomes"] = {"lung": doc["outcomes"]["lung"]}
    doc["analyses"].update(analyses)
    return load_study(doc)


@pytest.fixture(scope="module")
def results():
    study = _study(subgroups=["sex", "age_band"], age_bands=[60], periods=[[365, 1000], [1000, 2000], [2000, 3650]])
    return analyze(study, simulated_cohort(n=4000, seed=3, hr=1.6))


def test_age_band_labels():
    assert list(age_band_labels([18, 49, 50, 64, 65, 80, 95], [50, 65, 80])) == [
        "<50", "<50", "50-64", "50-64", "65-79", ">=80", ">=80"]


@pytest.mark.parametrize("ages", [[18, 49, 50, 64, 65, 80, 95], [70, 66, 90], [51.5, 20.0, 64.99]])
def test_age_bands_are_the_labels_present_in_age_order(ages):
    labels = age_band_labels(ages, [50, 65, 80])
    order = list(age_band_labels([-np.inf, 50, 65, 80], [50, 65, 80]))
    expected = pd.Categorical(labels, categories=[c for c in order if c in set(labels)])
    got = _age_bands(np.asarray(ages), (50, 65, 80))
    assert list(got.categories) == list(expected.categories)
    np.testing.assert_array_equal(got.codes, expected.codes)


def test_subgroup_levels_partition_the_events_and_match_the_model(results):
    est = results.estimates()
    (o,) = results.outcomes
    events = o.rates.set_index("group")["events"]
    for var, levels in (("sex", {"female", "male"}), ("age_band", {"<60", ">=60"})):
        rows = est.query("subgroup == @var and term == 'exposure'")
        assert set(rows["level"]) == levels
        assert rows["events_exposed"].sum() == events["sepsis"]
        assert rows["events_reference"].sum() == events["trauma"]
        (test,) = est.query("subgroup == @var and term == 'interaction'")["p"]
        assert 0 < test < 1
    # the sex rows are those of the model function called directly (adjusted model, female left out)
    from cohortstat.analysis.outcomes import outcome_sample

    t = simulated_cohort(n=4000, seed=3, hr=1.6).table
    t["female"] = (t["sex"] == 2).astype(int)
    sub = outcome_sample(t, "lung").assign(level=lambda d: np.where(d["sex"] == 2, "female", "male"))
    direct = subgroup_hazard_ratios(sub, "time_lung", "event_lung", "exposure", "level",
                                    covariates=["age", "calendar_year", "charlson", "tobacco", "alcohol"])
    rows = est.query("subgroup == 'sex' and term == 'exposure'").sort_values("level")
    assert np.array_equal(rows["estimate"].to_numpy(), direct.table["hr"].to_numpy())
    inter = est.query("subgroup == 'sex' and term == 'interaction'")["p"].iloc[0]
    assert inter == direct.interaction_lr.p


def test_period_rows_count_only_events_inside_their_period(results):
    est = results.estimates()
    rows = est.query("period != '' and term == 'exposure'")
    assert list(rows["period"]) == ["365-1000", "1000-2000", "2000-3650"]
    (o,) = results.outcomes
    events = o.rates.set_index("group")["events"]
    assert rows["events_exposed"].sum() <= events["sepsis"]
    assert (rows["estimate"] > 0).all() and (rows["ci_lower"] < rows["ci_upper"]).all()
    (p,) = est.query("term == 'heterogeneity'")["p"]
    assert 0 < p < 1
