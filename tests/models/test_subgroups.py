"""subgroup_hazard_ratios equals R coxph(~ agegrp + x:agegrp) and anova(coxph) interaction LR tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.cox import CoxPH
from cohortstat.models.subgroups import _main_effect, subgroup_hazard_ratios

REF = Path(__file__).resolve().parents[1] / "reference" / "subgroups_anova"
EXP = json.loads((REF / "expected.json").read_text())
CASES = {c["name"]: c for c in EXP["cases"]}


@pytest.mark.parametrize("name", ["colon", "sim", "simcluster"])
def test_equals_r(name):
    c = CASES[name]
    d = pd.read_csv(REF / c["input"])
    if c["cluster"] == "pair":  # pairs of consecutive rows, as run.R makes them
        d["pair"] = np.arange(len(d)) // 2
    r = subgroup_hazard_ratios(d, "time", "status", "x", "agegrp", covariates=c["covariates"], strata=c["strata"],
                               cluster=c["cluster"])
    assert (r.by_level.robust_se is not None) == c["robust"]
    t = r.table
    assert [str(v) for v in t["level"]] == c["levels"]
    np.testing.assert_allclose(t["coef"], c["coef"], rtol=1e-6)
    np.testing.assert_allclose(t["se"], c["se"], rtol=1e-6)
    assert r.common.loglik == pytest.approx(c["loglik_common"], rel=1e-9)
    assert r.by_level.loglik == pytest.approx(c["loglik_by_level"], rel=1e-9)
    assert r.interaction_lr.stat == pytest.approx(c["lr_chisq"], rel=1e-6)
    assert r.interaction_lr.df == c["lr_df"]
    assert r.interaction_lr.p == pytest.approx(c["lr_p"], rel=1e-6)
    assert r.interaction_wald.stat == pytest.approx(c["wald_chisq"], rel=1e-6)
    np.testing.assert_array_equal(t["events_exposed"], c["events_exposed"])
    np.testing.assert_array_equal(t["events_reference"], c["events_reference"])
    np.testing.assert_allclose(t["hr"], np.exp(t["coef"]))
    assert t["n"].sum() == len(d)


def test_level_hr_equals_fit_within_level_without_covariates():
    # no other covariates and the subgroup as strata: each level's HR is the HR fitted on that level alone
    d = pd.read_csv(REF / "input_sim.csv")
    r = subgroup_hazard_ratios(d, "time", "status", "x", "agegrp", strata="agegrp")
    for lev, coef in zip(r.table["level"], r.table["coef"]):
        alone = CoxPH().fit(d[d.agegrp == lev], duration="time", event="status", covariates=["x"])
        assert coef == pytest.approx(alone.coef["x"], rel=1e-7)


def test_subgroup_removed_from_covariates_is_noted():
    d = pd.read_csv(REF / "input_sim.csv")
    r = subgroup_hazard_ratios(d, "time", "status", "x", "agegrp", covariates=["agegrp", "z"], strata="site")
    np.testing.assert_allclose(r.table["coef"], CASES["sim"]["coef"], rtol=1e-6)
    assert any("removed from covariates" in n for n in r.notes)


def test_errors():
    d = pd.read_csv(REF / "input_sim.csv")
    with pytest.raises(ModelInputError, match="single level"):
        subgroup_hazard_ratios(d.assign(g="a"), "time", "status", "x", "g")
    with pytest.raises(ModelInputError, match="g=.a. has no reference subjects"):
        subgroup_hazard_ratios(d.assign(g=np.where(d.x == 1, "a", "b")), "time", "status", "x", "g")
    with pytest.raises(ModelInputError, match="missing"):
        subgroup_hazard_ratios(d.assign(g=np.where(d.z > 0, "a", None)), "time", "status", "x", "g")
    with pytest.raises(ModelInputError, match="not found in the data"):
        subgroup_hazard_ratios(d, "time", "status", "x", "nope")


def test_cut_bands_like_r_cut_right_false():
    from cohortstat.models.subgroups import cut_bands

    b = cut_bands([18, 49.9, 50, 69, 70, 101], [18, 50, 70, np.inf])
    assert list(b.astype(str)) == ["[18, 50)", "[18, 50)", "[50, 70)", "[50, 70)", "[70, inf)", "[70, inf)"]
    assert list(b.categories) == ["[18, 50)", "[50, 70)", "[70, inf)"] and b.ordered
    with pytest.raises(ModelInputError, match="outside the bands"):
        cut_bands([17], [18, 50])
    with pytest.raises(ModelInputError, match="strictly increasing"):
        cut_bands([20], [50, 18])


def test_subgroup_on_user_bands():
    from cohortstat.models.subgroups import cut_bands

    d = pd.read_csv(REF / "input_sim.csv")
    d["zband"] = cut_bands(d["z"], [-np.inf, -0.5, 0.5, np.inf])
    r = subgroup_hazard_ratios(d, "time", "status", "x", "zband", covariates=["agegrp"])
    assert r.table["level"].astype(str).tolist() == ["[-inf, -0.5)", "[-0.5, 0.5)", "[0.5, inf)"]
    assert r.table["n"].sum() == len(d) and r.interaction_lr.df == 2


@pytest.mark.parametrize("values", [["b", "a", "b", "c"], [3, 1, 2, 1], [2.5, 1.0, 2.5], [True, False, True]])
def test_main_effect_is_the_levels_text(values):
    codes, levels = pd.factorize(pd.Series(values), sort=True)
    expected = pd.Categorical(np.asarray(levels.astype(str))[codes], categories=[str(v) for v in levels])
    got = _main_effect(levels, codes)
    assert list(got.categories) == list(expected.categories)
    np.testing.assert_array_equal(got.codes, expected.codes)


def test_categorical_subgroup_equals_its_text():
    # a categorical subgroup whose categories sort as its text gives the fit of the text column, to the bit
    d = pd.read_csv(REF / "input_sim.csv")
    text = np.where(d["z"] > 0, "female", "male")
    a = subgroup_hazard_ratios(d.assign(g=text), "time", "status", "x", "g", covariates=["z"])
    b = subgroup_hazard_ratios(d.assign(g=pd.Categorical(text, categories=["female", "male"])), "time", "status",
                               "x", "g", covariates=["z"])
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    assert (a.interaction_lr, a.interaction_wald, a.notes) == (b.interaction_lr, b.interaction_wald, b.notes)
