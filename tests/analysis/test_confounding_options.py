"""ATE / ATT weights, trimming, truncation, the propensity model's own covariates and spline / category
terms, through adjust_for_confounding and analyze."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cohortstat.analysis import analyze
from cohortstat.analysis.confounding import adjust_for_confounding
from cohortstat.analysis.study import model_covariates
from cohortstat.analysis.terms import add_term_columns, band_labels, term_columns
from cohortstat.cohort.charlson import COMPONENTS
from cohortstat.errors import BalanceWarning
from cohortstat.models import CoxPH
from cohortstat.models.splines import ns

from .helpers import make_study, simulated_cohort

IPTW = {"method": "iptw"}


def _adjust(table, study):
    """adjust_for_confounding; a residual imbalance (BalanceWarning, a note) is not what is tested here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BalanceWarning)
        return adjust_for_confounding(table, study)


def _cohort(n=1500, seed=7):
    cohort = simulated_cohort(n=n, seed=seed)
    rng = np.random.default_rng(seed)
    for k in COMPONENTS:
        cohort.table[f"cci_{k}"] = (rng.random(n) < 0.1).astype(int)
    return cohort


def test_att_weights_are_one_for_exposed_and_stabilized_odds_for_reference():
    cohort = _cohort()
    res = _adjust(cohort.table, make_study(confounding={**IPTW, "estimand": "att"}))
    t = res.table
    exposed = t["exposure"] == 1
    assert np.all(t.loc[exposed, "weight"] == 1.0)
    q = exposed.mean()
    ps = t.loc[~exposed, "ps"]
    assert np.allclose(t.loc[~exposed, "weight"], ps / (1 - ps) * (1 - q) / q, rtol=1e-13)
    unstab = _adjust(cohort.table, make_study(confounding={**IPTW, "estimand": "att",
                                                                            "stabilized": False}))
    assert np.allclose(unstab.table.loc[~exposed, "weight"], ps / (1 - ps), rtol=1e-13)
    assert any("IPTW (ATT), stabilized" in n for n in res.notes)
    # the weighted reference group stands for the exposed: weighted covariate means move toward theirs
    bal = res.balance.set_index("covariate")
    assert abs(bal.loc["age", "smd_after"]) < abs(bal.loc["age", "smd_before"])
    assert bal.loc["age", "mean_exposed_after"] == pytest.approx(bal.loc["age", "mean_exposed_before"])


def test_ate_default_is_unchanged():
    cohort = _cohort()
    a = _adjust(cohort.table, make_study(confounding=IPTW))
    b = _adjust(cohort.table, make_study(confounding={**IPTW, "estimand": "ate"}))
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.notes == b.notes
    assert any(n.startswith("IPTW (ATE), stabilized; max weight") for n in a.notes)


def test_trimming_drops_persons_outside_the_bounds_and_counts_them():
    cohort = _cohort()
    full = _adjust(cohort.table, make_study(confounding=IPTW))
    res = _adjust(cohort.table, make_study(confounding={**IPTW, "trim": [0.3, 0.6]}))
    ps_all = full.table["ps"]
    inside = (ps_all >= 0.3) & (ps_all <= 0.6)
    assert 0 < inside.sum() < len(ps_all)
    assert len(res.table) == int(inside.sum())
    assert res.table["ps"].between(0.3, 0.6).all()
    (row,) = res.attrition_rows
    assert row["rule_id"] == "ps_trimming"
    for g, code in (("sepsis", 1), ("trauma", 0)):
        grp = full.table["exposure"] == code
        assert row[f"n_{g}"] == int((inside & grp).sum())
        assert row[f"excluded_{g}"] == int((~inside & grp).sum())
    # weights are those of the kept persons' scores (the score is not refitted), stabilized on them
    t = res.table
    q = t["exposure"].mean()
    expected = np.where(t["exposure"] == 1, q / t["ps"], (1 - q) / (1 - t["ps"]))
    assert np.allclose(t["weight"], expected, rtol=1e-13)


def test_trimming_before_matching_adds_its_row_before_the_matching_row():
    cohort = _cohort()
    res = _adjust(cohort.table, make_study(confounding={"method": "matching", "trim": [0.2, 0.8]}))
    assert [r["rule_id"] for r in res.attrition_rows] == ["ps_trimming", "matching"]
    assert res.table["ps"].between(0.2, 0.8).all()


def test_truncation_caps_weights_at_the_percentiles():
    cohort = _cohort()
    full = _adjust(cohort.table, make_study(confounding=IPTW))
    res = _adjust(cohort.table, make_study(confounding={**IPTW, "truncate": 0.95}))
    w0, w = full.table["weight"].to_numpy(), res.table["weight"].to_numpy()
    lo, hi = np.quantile(w0, [0.05, 0.95])
    assert np.allclose(w, np.clip(w0, lo, hi), rtol=1e-14)
    assert w.max() == pytest.approx(hi) and w.min() == pytest.approx(lo)
    assert any("weights truncated at their 0.05 and 0.95 quantiles" in n for n in res.notes)


def test_att_truncation_leaves_the_exposed_alone():
    cohort = _cohort()
    conf = {**IPTW, "estimand": "att"}
    full = _adjust(cohort.table, make_study(confounding=conf))
    res = _adjust(cohort.table, make_study(confounding={**conf, "truncate": 0.9}))
    ref = full.table["exposure"] == 0
    w0 = full.table["weight"].to_numpy()
    lo, hi = np.quantile(w0[ref], [0.1, 0.9])
    expected = np.where(ref, np.clip(w0, lo, hi), 1.0)
    assert np.allclose(res.table["weight"], expected, rtol=1e-14)


def test_propensity_model_with_its_own_covariates():
    cohort = _cohort()
    own = {"age": {"form": "spline", "df": 3}, "sex": False, "calendar_year": {"form": "categories",
           "breaks": [2012, 2015]}, "charlson": "components", "flags": []}
    res = _adjust(cohort.table, make_study(confounding={**IPTW, "covariates": own}))
    terms = list(res.ps_coef["term"])
    assert terms[:4] == ["Intercept", "ns(age, df = 3)1", "ns(age, df = 3)2", "ns(age, df = 3)3"]
    assert "cut(calendar_year)[2012-2014]" in terms and "cut(calendar_year)[>=2015]" in terms
    assert [c for c in terms if c.startswith("cci_")] == [f"cci_{k}" for k in COMPONENTS]
    assert "charlson" not in terms and "female" not in terms
    # the same fit written by hand
    t = cohort.table.copy()
    from cohortstat.models.weighting import propensity_score

    t[["a1", "a2", "a3"]] = ns(t["age"], 3)
    t["yr"] = pd.Categorical.from_codes(np.searchsorted([2012, 2015], t["calendar_year"], side="right"),
                                        categories=band_labels([2012, 2015]))
    comps = [c for c in terms if c.startswith("cci_")]
    ref = propensity_score(t, treatment="exposure", covariates=["a1", "a2", "a3", "yr", *comps])
    assert np.allclose(res.ps_coef["coef"].to_numpy(), ref.coef["coef"].to_numpy(), rtol=1e-10)
    # balance covers the outcome model's variables and the propensity model's
    covs = list(res.balance["covariate"])
    assert covs[:4] == ["age", "female", "calendar_year", "charlson"] and f"cci_{COMPONENTS[0]}" in covs


def test_spline_and_category_terms_of_the_outcome_model():
    study = make_study(confounding=None)
    data = study.model_dump()
    data["covariates"]["age"] = {"form": "spline", "df": 4}
    data["covariates"]["calendar_year"] = {"form": "categories", "breaks": [2012, 2014]}
    from cohortstat.spec import load_study

    study = load_study(data)
    covs = model_covariates(study)
    assert covs[:5] == ["exposure"] + [f"ns(age, df = 4){k}" for k in range(1, 5)]
    assert "cut(calendar_year)" in covs and "age" not in covs and "calendar_year" not in covs
    cohort = _cohort()
    results = analyze(study, cohort)
    adjusted = results.outcomes[0]
    table = add_term_columns(cohort.table.assign(female=(cohort.table["sex"] == 2).astype(int)), study.covariates)
    ref = CoxPH(ties="efron").fit(table, duration="time_lung", event="event_lung", covariates=covs)
    hr = _adjusted_exposure_hr(adjusted)
    assert hr == pytest.approx(float(np.exp(ref.coef["exposure"])), rel=1e-10)
    assert list(table["cut(calendar_year)"].cat.categories) == ["<2012", "2012-2013", ">=2014"]


def _adjusted_exposure_hr(outcome) -> float:
    m = outcome.models
    row = m[(m["model"] == "cox_adjusted") & (m["term"] == "exposure")]
    return float(row["hr"].iloc[0])


def test_term_columns_keep_todays_order_for_booleans():
    study = make_study()
    assert term_columns(study.covariates) == ["age", "female", "calendar_year", "charlson", "tobacco", "alcohol"]


def test_analyze_counts_trimming_in_the_attrition_and_fits_the_weighted_models():
    conf = {"method": "iptw", "estimand": "att", "trim": [0.25, 0.9], "truncate": 0.99}
    cohort = _cohort()
    results = analyze(make_study(confounding=conf), cohort)
    att = results.attrition.set_index("rule_id")
    assert att.loc["ps_trimming", "step"] == cohort.attrition["step"].max() + 1
    kept = att.loc["ps_trimming", "n_sepsis"] + att.loc["ps_trimming", "n_trauma"]
    excluded = att.loc["ps_trimming", "excluded_sepsis"] + att.loc["ps_trimming", "excluded_trauma"]
    assert kept + excluded == len(cohort.table) and excluded > 0
    assert any(n.startswith("IPTW (ATT), stabilized; reference group's weights truncated") for n in results.notes)
    models = results.outcomes[0].models
    ps_rows = models[(models["model"] == "cox_ps") & (models["term"] == "exposure")]
    assert len(ps_rows) == 1 and int(ps_rows["n"].iloc[0]) == kept
