"""One outcome's trouble does not abort the study: no one at risk in a group, PH test or model failures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cohortstat.models
from cohortstat import analyze
from cohortstat.errors import ModelInputError

from .helpers import make_study, simulated_cohort


def test_outcome_no_exposed_person_is_at_risk_of():
    # the outcome's concept set defines the exposed group: every exposed person had it at index, so all
    # their times are missing (prevalent cases); the other outcome is analysed as usual
    study = make_study(outcomes=("lung", "skin"))
    cohort = simulated_cohort(outcomes=("lung", "skin"))
    cohort.table.loc[cohort.table["exposure"] == 1, "time_skin"] = np.nan
    res = analyze(study, cohort)
    skin = next(o for o in res.outcomes if o.name == "skin")
    assert any("no sepsis patient at risk" in n and "concept set" in n for n in skin.notes)
    assert math.isnan(skin.gray["stat"]) and math.isnan(skin.gray["p"])
    assert len(skin.models) == 0 and len(skin.ph) == 0
    assert skin.rates.set_index("group").loc["sepsis", "n"] == 0
    assert skin.rates.set_index("group").loc["trauma", "events"] > 0
    lung = next(o for o in res.outcomes if o.name == "lung")
    assert {"cox_crude", "cox_adjusted", "fg_crude", "fg_adjusted"} == set(lung.models["model"])
    assert res.estimates().query("outcome == 'skin'").empty


def test_nobody_at_risk_at_all():
    cohort = simulated_cohort()
    cohort.table["time_lung"] = np.nan
    (o,) = analyze(make_study(), cohort).outcomes
    assert len(o.cif) == 0 and len(o.models) == 0 and o.rates["n"].sum() == 0
    assert any("no sepsis or trauma patient at risk" in n for n in o.notes)


def test_singular_ph_test_becomes_a_note(monkeypatch):
    def singular(*args, **kwargs):
        raise ModelInputError("the information matrix of the PH score test is singular")

    monkeypatch.setattr(cohortstat.models, "ph_test", singular)
    (o,) = analyze(make_study(), simulated_cohort()).outcomes
    assert len(o.ph) == 0 and not o.ph_violated
    assert any("proportional-hazards test not computed" in n and "singular" in n for n in o.notes)
    assert "cox_adjusted" in set(o.models["model"])


def test_ph_test_with_a_single_event_time_becomes_a_note():
    cohort = simulated_cohort()
    t = cohort.table
    t.loc[t["event_lung"] == 1, "time_lung"] = 400.0  # every event on one day
    (o,) = analyze(make_study(), cohort).outcomes
    assert len(o.ph) == 0
    assert any("two or more distinct times" in n for n in o.notes)


def test_a_model_that_cannot_be_fitted_becomes_a_note():
    cohort = simulated_cohort()
    cohort.table["alcohol"] = 0  # no variation: singular information in the adjusted models
    (o,) = analyze(make_study(), cohort).outcomes
    assert {"cox_crude", "fg_crude"} <= set(o.models["model"])
    assert "cox_adjusted" not in set(o.models["model"])
    assert any(n.startswith("lung cox_adjusted: not fitted:") for n in o.notes)
    # the PH test falls back to the crude model
    assert set(o.ph["term"]) == {"exposure", "GLOBAL"}


@pytest.mark.parametrize("method", ["matching", "iptw"])
def test_confounding_step_models_and_notes(method):
    study = make_study(confounding={"method": method, "seed": 4})
    res = analyze(study, simulated_cohort(n=2500))
    (o,) = res.outcomes
    assert {"cox_ps", "fg_ps"} <= set(o.models["model"])
    assert res.balance is not None and {"mean_exposed_before", "mean_reference_after"} <= set(res.balance.columns)
    if method == "matching":
        assert res.attrition["rule_id"].iloc[-1] == "matching"


@pytest.mark.parametrize("confounding", [None, {"method": "matching", "seed": 4}, {"method": "iptw"}])
def test_the_analysis_leaves_the_cohort_table_as_it_was(confounding):
    # the analysis shares the cohort's columns rather than copying them: it must never write into them
    study = make_study(outcomes=("lung", "skin"), confounding=confounding)
    study = study.model_copy(update={"analyses": study.analyses.model_copy(
        update={"subgroups": ("age_band", "sex"), "periods": ((0, 730), (730, 1825), (1825, 3650))})})
    cohort = simulated_cohort(n=2500, outcomes=("lung", "skin"))
    before = cohort.table.copy(deep=True)
    res = analyze(study, cohort)
    assert not res.estimates().query("subgroup == 'sex'").empty  # the subgroup models ran
    pd.testing.assert_frame_equal(cohort.table, before, check_exact=True)
