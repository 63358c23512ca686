"""After matching: the marginal (clustered) or conditional (stratified on the matched set) Cox model."""

from __future__ import annotations

import numpy as np

from cohortstat import analyze
from cohortstat.analysis.confounding import adjust_for_confounding
from cohortstat.analysis.outcomes import outcome_sample
from cohortstat.constants import WEIGHT
from cohortstat.models import CoxPH

from .helpers import make_study, simulated_cohort


def test_conditional_model_is_cox_stratified_on_the_matched_set():
    conf = {"method": "matching", "ratio": 2, "seed": 2}
    cohort = simulated_cohort(n=2500, seed=9)
    marginal = analyze(make_study(confounding=conf), cohort)
    study = make_study(confounding={**conf, "outcome_model": "conditional"})
    conditional = analyze(study, cohort)
    table = cohort.table.assign(female=(cohort.table["sex"] == 2).astype(int))
    matched = outcome_sample(adjust_for_confounding(table, study).table, "lung")
    kw = {"weights": WEIGHT} if WEIGHT in matched else {}
    direct = CoxPH(competing=[2]).fit(matched, duration="time_lung", event="event_lung", covariates=["exposure"],
                                      strata="matched_set", **kw)
    (o,) = conditional.outcomes
    row = o.models.loc[(o.models["model"] == "cox_ps") & (o.models["term"] == "exposure")].iloc[0]
    assert row["hr"] == float(direct.table().set_index("term").loc["exposure", "hr"])
    (m,) = marginal.outcomes
    mrow = m.models.loc[(m.models["model"] == "cox_ps") & (m.models["term"] == "exposure")].iloc[0]
    assert mrow["hr"] != row["hr"]  # a different estimand
    # the other models do not change
    for name in ("cox_crude", "cox_adjusted", "fg_ps"):
        a, b = (x.models.loc[x.models["model"] == name, "hr"].to_numpy() for x in (o, m))
        assert np.array_equal(a, b)
