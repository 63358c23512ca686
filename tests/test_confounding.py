"""Study-level confounding control: planted confounding recovered by matching and weighting."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
import yaml

from cohortstat.analysis.confounding import adjust_for_confounding, covariate_columns
from cohortstat.errors import BalanceWarning, SpecError
from cohortstat.spec import load_study
from tests.core_study import core_study_path

STUDY = core_study_path()
TRUE_HR = 1.5


def study_with(**confounding):
    data = yaml.safe_load(STUDY.read_text())
    data["analyses"]["confounding"] = confounding
    return load_study(yaml.safe_dump(data, sort_keys=False))


def simulate(n=12000, seed=20240501, base=1e-5):
    """Analysis table with planted confounding: older, more comorbid smokers are more often exposed
    (sepsis) and have a higher outcome hazard; the exposure multiplies the hazard by TRUE_HR."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 91, n)
    sex = rng.integers(1, 3, n)
    year = rng.integers(2010, 2017, n)
    charlson = rng.poisson(0.3 + (age - 18) / 30)
    tobacco = (rng.random(n) < 0.25).astype(int)
    alcohol = (rng.random(n) < 0.1).astype(int)
    lp_exp = -1.4 + 0.03 * (age - 55) + 0.3 * charlson + 0.6 * tobacco + 0.2 * (sex == 1)
    exposure = (rng.random(n) < 1 / (1 + np.exp(-lp_exp))).astype(int)
    lp = np.log(TRUE_HR) * exposure + 0.04 * (age - 55) + 0.3 * charlson + 0.5 * tobacco + 0.2 * alcohol
    t_event = rng.exponential(1 / (base * np.exp(lp)))
    t_cens = rng.uniform(365, 2920, n)
    time = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(int)
    return pd.DataFrame(
        {
            "person_key": [f"K{k:08x}" for k in rng.permutation(10 * n)[:n]],
            "group": np.where(exposure == 1, "sepsis", "trauma"),
            "exposure": exposure,
            "age": age,
            "sex": sex,
            "calendar_year": year,
            "charlson": charlson,
            "tobacco": tobacco,
            "alcohol": alcohol,
            "time_lung": time,
            "event_lung": event.astype(float),
        }
    )


def cox_loghr(df, **kwargs):
    """log HR of exposure and its 95% CI (lifelines CoxPHFitter, Efron ties)."""
    from lifelines import CoxPHFitter

    cols = ["time_lung", "event_lung", "exposure"] + [c for c in kwargs.values() if isinstance(c, str)]
    fit = CoxPHFitter().fit(df[cols], duration_col="time_lung", event_col="event_lung", **kwargs)
    s = fit.summary.loc["exposure"]
    return s["coef"], s["coef lower 95%"], s["coef upper 95%"]


@pytest.fixture(scope="module")
def table():
    return simulate()


@pytest.fixture(scope="module")
def matched(table):
    return adjust_for_confounding(table, study_with(method="matching", ratio=1, seed=3))


def test_matched_hr_recovers_planted_effect_crude_does_not(table, matched):
    truth = np.log(TRUE_HR)
    crude, lo, hi = cox_loghr(table)
    assert not lo <= truth <= hi and crude > truth + 0.2  # confounded upwards
    m = matched.table
    # Cox with variance clustered on the matched set (lifelines, robust sandwich)
    est, lo, hi = cox_loghr(m, cluster_col="matched_set")
    assert lo <= truth <= hi and abs(est - truth) < 0.15
    # Cox stratified on the matched set (statsmodels PHReg, conditional on the set)
    from statsmodels.duration.hazard_regression import PHReg

    fit = PHReg(
        m["time_lung"].to_numpy(),
        m[["exposure"]].to_numpy(float),
        status=m["event_lung"].to_numpy(),
        strata=m["matched_set"].to_numpy(),
        ties="efron",
    ).fit()
    est_s, se_s = fit.params[0], fit.bse[0]
    assert abs(est_s - truth) < 1.96 * se_s


def test_matched_table_balance_and_attrition(table, matched):
    m, conf = matched.table, matched.matching
    assert {"matched_set", "weight", "ps"} <= set(m.columns)
    assert (m["matched_set"] >= 0).all()
    assert m.groupby("matched_set")["exposure"].agg(["sum", "count"]).eq([1, 2]).all().all()
    assert (m["weight"] == 1.0).all()
    bal = matched.balance
    assert list(bal["covariate"]) == ["age", "female", "calendar_year", "charlson", "tobacco", "alcohol"]
    assert bal.set_index("covariate").loc["age", "smd_before"] > 0.3
    assert (bal["smd_after"].abs() <= 0.1).all()
    (row,) = matched.attrition_rows
    assert row["rule_id"] == "matching"
    n_exp, n_ref = int((table["exposure"] == 1).sum()), int((table["exposure"] == 0).sum())
    assert row["n_sepsis"] == row["n_trauma"] == conf.n_sets == len(m) // 2
    assert row["excluded_sepsis"] == n_exp - row["n_sepsis"]
    assert row["excluded_trauma"] == n_ref - row["n_trauma"]
    assert "1:1" in row["description"] and "caliper 0.2 SD" in row["description"]
    pref = matched.preference
    assert set(pref["sample"]) == {"all", "matched"}
    per = pref.groupby(["sample", "group"])["n"].sum()
    assert per[("all", "sepsis")] == n_exp and per[("matched", "trauma")] == row["n_trauma"]
    assert matched.ps_coef["term"].tolist()[0] == "Intercept"


def test_result_independent_of_row_order(table, matched):
    shuffled = table.sample(frac=1.0, random_state=np.random.default_rng(9).integers(1 << 31))
    again = adjust_for_confounding(shuffled, study_with(method="matching", ratio=1, seed=3))
    pd.testing.assert_frame_equal(again.table, matched.table)
    pd.testing.assert_frame_equal(again.balance, matched.balance)


def test_exact_matching_ratio_two(table):
    res = adjust_for_confounding(
        table, study_with(method="matching", ratio=2, exact=["sex", "age"], age_band_years=10, seed=1)
    )
    m = res.table
    per_set = m.groupby("matched_set")
    assert per_set["sex"].nunique().eq(1).all()
    assert per_set["age"].agg(lambda a: (a // 10).nunique()).eq(1).all()
    n_reference = per_set["exposure"].agg(lambda e: (e == 0).sum())
    assert n_reference.between(1, 2).all()
    # matching weights balance the variable-ratio sets; reference weights sum to the matched reference persons
    assert m.loc[m["exposure"] == 0, "weight"].sum() == pytest.approx(n_reference.sum())
    assert "age band (10 years)" in res.attrition_rows[0]["description"]


@pytest.mark.parametrize("method", ["iptw", "overlap"])
def test_weighting_balances_and_recovers(table, method):
    res = adjust_for_confounding(table, study_with(method=method))
    assert len(res.table) == len(table) and "weight" in res.table
    assert res.attrition_rows == []
    after = res.balance["smd_after"].abs()
    assert (after <= 0.1).all()
    if method == "overlap":
        # overlap weights of a logistic model fitted by ML balance every model covariate exactly
        assert after.max() < 1e-6
    est, lo, hi = cox_loghr(res.table, weights_col="weight", robust=True)
    assert lo <= np.log(TRUE_HR) <= hi


def test_balance_warning_when_imbalanced():
    # strong confounding, scarce reference persons, no effective caliper: greedy 1:1 leaves residual imbalance
    rng = np.random.default_rng(5)
    n = 800
    age = rng.integers(18, 91, n)
    exposure = (rng.random(n) < 1 / (1 + np.exp(-(0.12 * (age - 45))))).astype(int)
    t = pd.DataFrame(
        {
            "person_key": np.arange(n),
            "group": np.where(exposure == 1, "sepsis", "trauma"),
            "exposure": exposure,
            "age": age,
            "sex": rng.integers(1, 3, n),
            "calendar_year": rng.integers(2010, 2017, n),
            "charlson": rng.poisson(1.0, n),
            "tobacco": rng.integers(0, 2, n),
            "alcohol": rng.integers(0, 2, n),
        }
    )
    with pytest.warns(BalanceWarning, match=r"\|SMD\| > 0.1: .*age"):
        res = adjust_for_confounding(t, study_with(method="matching", caliper_sd=10))
    assert "age" in res.imbalanced
    assert any("SMD" in note for note in res.notes)


def test_none_and_bad_exact(table):
    res = adjust_for_confounding(table, study_with(method="none"))
    assert res.table.equals(table) and res.ps_coef is None and res.balance["smd_after"].isna().all()
    # the spec accepts covariate names only; a Study built otherwise is still checked here
    study = study_with(method="matching")
    bad = study.model_copy(
        update={
            "analyses": study.analyses.model_copy(
                update={"confounding": study.analyses.confounding.model_copy(update={"exact": ("bmi",)})}
            )
        }
    )
    with pytest.raises(SpecError, match="confounding.exact.0: unknown exact-matching variable 'bmi'"):
        adjust_for_confounding(table, bad)


def test_covariate_columns():
    assert covariate_columns(study_with(method="none")) == [
        "age",
        "female",
        "calendar_year",
        "charlson",
        "tobacco",
        "alcohol",
    ]


def test_result_tables_render(matched):
    from cohortstat.report.figures_balance import love_plot, preference_plot

    love, pref = love_plot(matched.balance), preference_plot(matched.preference)
    assert love.lstrip().startswith("<svg") and "</svg>" in love
    assert pref.lstrip().startswith("<svg") and "matched" in pref.lower()  # text is kept as SVG text


def test_cohortstat_cox_on_matched_cohort(matched):
    """The recommended calls with cohortstat's own CoxPH: stratified on the matched set, and marginal
    with variance clustered on it; both recover the planted effect. The stratified fit equals PHReg's."""
    from statsmodels.duration.hazard_regression import PHReg

    from cohortstat.models.cox import CoxPH

    m, truth = matched.table, np.log(TRUE_HR)
    strat = CoxPH(ties="efron").fit(
        m, duration="time_lung", event="event_lung", covariates=["exposure"], strata="matched_set"
    )
    est, se = strat.coef["exposure"], strat.se["exposure"]
    assert abs(est - truth) < 1.96 * se
    ref = PHReg(
        m["time_lung"].to_numpy(),
        m[["exposure"]].to_numpy(float),
        status=m["event_lung"].to_numpy(),
        strata=m["matched_set"].to_numpy(),
        ties="efron",
    ).fit()
    assert est == pytest.approx(ref.params[0], abs=1e-6)
    clus = CoxPH(ties="efron").fit(
        m, duration="time_lung", event="event_lung", covariates=["exposure"], cluster="matched_set"
    )
    est, rse = clus.coef["exposure"], clus.robust_se["exposure"]
    assert abs(est - truth) < 1.96 * rse
    # the lifelines clustered fit gives the same point estimate
    assert est == pytest.approx(cox_loghr(m, cluster_col="matched_set")[0], abs=1e-5)


def test_generator_planted_lung_effect_recovered_after_matching(tmp_path):
    """End to end on the project's synthetic data (20 k patients): cohort -> matching 1:2 exact on
    sex and age band -> Cox stratified on the matched set; the 95% CI covers truth.json's lung effect."""
    import json

    from cohortstat.cohort import build_cohort
    from cohortstat.data.synth import generate
    from cohortstat.models.cox import CoxPH

    generate(20000, 1, tmp_path)
    truth = json.loads((tmp_path / "truth.json").read_text())
    beta = truth["planted"]["outcomes"]["lung"]["exposure"]  # cause-specific log HR of exposure
    study = study_with(method="matching", ratio=2, exact=["sex", "age"])
    cohort = build_cohort(study, data=tmp_path, engine="duckdb")
    res = adjust_for_confounding(cohort.table, study)
    assert res.attrition_rows[0]["n_sepsis"] > 1000 and (res.balance["smd_after"].abs() <= 0.1).all()
    m = res.table.dropna(subset=["time_lung"])
    fit = CoxPH().fit(
        m, duration="time_lung", event="event_lung", covariates=["exposure"], strata="matched_set"
    )
    row = fit.table().set_index("term").loc["exposure"]
    assert np.log(row["ci_lower"]) <= beta <= np.log(row["ci_upper"])
    # the recommended Fine-Gray call (variance clustered on the matched set) runs on the matched table;
    # the subdistribution HR is not planted, so only its consistency is checked
    from cohortstat.models.finegray import FineGray

    fg = FineGray(variance="robust").fit(
        m, duration="time_lung", event="event_lung", covariates=["exposure"], cluster="matched_set"
    )
    assert np.isfinite(fg.coef["exposure"]) and fg.robust_se["exposure"] > 0
    # planted: lung cause-specific log HR -0.29 and death log HR +0.47 for the exposed, so the
    # subdistribution HR lies below 1
    assert fg.coef["exposure"] < 0
