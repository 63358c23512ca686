"""``analyses.cox.strata`` end to end: synthetic data -> build_cohort -> analyze, and the fits it makes."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
import yaml

import cohortstat as cs
from cohortstat.analysis.fitting import cox_strata
from cohortstat.models import CoxPH

from .helpers import shipped_core



def study_with(strata, outcomes=("lung", "all_cancers")):
    data = shipped_core()
    data["outcomes"] = {k: v for k, v in data["outcomes"].items() if k in outcomes}
    data["analyses"]["cox"]["strata"] = list(strata)
    return cs.load_study(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from cohortstat.data.synth import generate

    data = generate(6000, 3, tmp_path_factory.mktemp("strata") / "data")
    return cs.build_cohort(study_with(["sex"]), data=data)


@pytest.fixture(scope="module")
def results(cohort):
    return cs.analyze(study_with(["sex"]), cohort)


def _table(cohort):
    t = cohort.table.copy()
    t["female"] = (t["sex"] == 2).astype(int)
    t = t.loc[t["time_all_cancers"].notna()].copy()
    t["event_all_cancers"] = t["event_all_cancers"].astype(int)
    return t


def test_study_with_strata_sex_runs_end_to_end(results):
    models = {o.name: o.models for o in results.outcomes}
    for name, m in models.items():
        cox = m.loc[m["model"].str.startswith("cox")]
        assert set(cox["model"]) == {"cox_crude", "cox_adjusted"}, name
        # female is constant within the strata of sex: out of the stratified Cox model, kept in Fine-Gray
        assert "female" not in set(cox["term"]), name
        assert "female" in set(m.loc[m["model"] == "fg_adjusted", "term"]), name
        assert np.isfinite(cox.loc[cox["term"] == "exposure", "hr"]).all()
    assert any("stratified on sex" in n and "female" in n for n in results.notes)
    # the PH test ran on the stratified adjusted model
    ph = results.outcomes[1].ph
    assert "GLOBAL" in set(ph["term"]) and "female" not in set(ph["term"])


def test_stratified_fit_equals_a_direct_fit(cohort, results):
    t = _table(cohort)
    covs = ["exposure", "age", "calendar_year", "charlson", "tobacco", "alcohol"]
    direct = CoxPH(ties="efron").fit(t, duration="time_all_cancers", event="event_all_cancers",
                                     covariates=covs, strata="sex")
    got = results.outcomes[1].models.query("model == 'cox_adjusted'").set_index("term")["coef"]
    assert got.loc[covs].to_numpy() == pytest.approx(direct.coef.loc[covs].to_numpy(), rel=0, abs=0)


def test_several_strata_give_the_fit_of_their_combinations(cohort):
    t = _table(cohort)
    covs = ["exposure", "age", "female", "calendar_year", "charlson", "alcohol"]
    plan, with_col = cox_strata(("sex", "tobacco"), covs, t)
    assert plan.column == "strata(sex, tobacco)" and plan.dropped == ("female",)
    # combinations numbered in sorted order, first variable slowest, as R strata(sex, tobacco)
    pairs = with_col.groupby(plan.column)[["sex", "tobacco"]].first()
    assert [tuple(r) for r in pairs.to_numpy()] == sorted(tuple(r) for r in pairs.to_numpy())
    kept = plan.covariates(covs)
    combined = CoxPH().fit(with_col, duration="time_all_cancers", event="event_all_cancers", covariates=kept,
                           strata=plan.column)
    # any other coding of the same partition gives the same fit
    other = t.assign(s=t["sex"].astype(str) + "/" + t["tobacco"].astype(str))
    ref = CoxPH().fit(other, duration="time_all_cancers", event="event_all_cancers", covariates=kept, strata="s")
    assert combined.coef.to_numpy() == pytest.approx(ref.coef.to_numpy(), rel=1e-12)
    assert combined.loglik == pytest.approx(ref.loglik, rel=1e-12)


def test_no_strata_is_the_unstratified_plan():
    plan, t = cox_strata((), ["exposure", "female"], pd.DataFrame({"sex": [1, 2]}))
    assert plan.column is None and plan.dropped == () and plan.covariates(["exposure", "female"]) == [
        "exposure", "female"]


def test_a_stratum_missing_from_the_table_is_a_clear_error():
    from cohortstat.errors import CohortError

    with pytest.raises(CohortError, match="covariates.sex: true"):
        cox_strata(("sex",), ["exposure"], pd.DataFrame({"age": [50, 60]}))
