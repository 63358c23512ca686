"""Table 1 rows for publication: sections, labels, shown rows, missing values, follow-up, weights."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cohortstat.analysis.table_one import table_one, zero_rows


def _table(n=200, seed=5):
    rng = np.random.default_rng(seed)
    g = np.where(np.arange(n) < n // 2, "a", "b")
    age = rng.integers(20, 90, n).astype(float)
    age[:3] = np.nan  # three missing ages in group a
    t = pd.DataFrame({"group": g, "age": age, "sex": rng.integers(1, 3, n), "charlson": rng.poisson(1, n),
                      "cci_mi": rng.integers(0, 2, n), "cci_canc": 0, "tobacco": rng.integers(0, 2, n),
                      "time_x": rng.uniform(100, 2000, n), "time_y": rng.uniform(100, 2000, n)})
    t.loc[5, "time_y"] = np.nan  # not at risk for y
    return t


def test_rows_carry_sections_labels_and_which_are_shown():
    t1 = table_one(_table(), exposed="a", reference="b", flags=["tobacco"], flag_labels={"tobacco": "Tobacco use"})
    mi = t1.loc[t1["variable"] == "Charlson: mi"]
    assert list(mi["level"]) == ["yes", "no"] and list(mi["show"]) == [True, False]
    assert mi["label"].iloc[0] == "Myocardial infarction"
    assert mi["section"].iloc[0].startswith("Comorbidity")
    assert t1.loc[t1["variable"] == "Flag: tobacco", "label"].iloc[0] == "Tobacco use"
    canc = t1.loc[t1["variable"] == "Charlson: canc"]
    assert not canc["show"].any()
    assert zero_rows(t1, ("a", "b")) == [canc["label"].iloc[0]]


def test_missing_values_get_a_missing_row_and_statistics_use_the_recorded_values():
    t = _table()
    t1 = table_one(t, exposed="a", reference="b")
    miss = t1.loc[t1["variable"] == "Age, years: missing"]
    assert list(miss["level"]) == ["missing", "recorded"] and list(miss["show"]) == [True, False]
    assert miss["n_a"].iloc[0] == 3 and miss["n_b"].iloc[0] == 0
    assert miss["n_a"].sum() == 100  # a partition of the group
    age = t1.loc[t1["variable"] == "Age, years"].iloc[0]
    assert age["mean_a"] == pytest.approx(t.loc[t.group == "a", "age"].mean())


def test_follow_up_is_the_longest_outcome_time_per_patient():
    t = _table()
    t1 = table_one(t, exposed="a", reference="b")
    fu = t1.loc[t1["kind"] == "follow_up"].iloc[0]
    years = t[["time_x", "time_y"]].max(axis=1) / 365.25
    a = years[t.group == "a"]
    assert fu["median_a"] == pytest.approx(a.median())
    assert fu["q1_a"] == pytest.approx(a.quantile(0.25)) and fu["q3_a"] == pytest.approx(a.quantile(0.75))
    assert fu["person_years_a"] == pytest.approx(a.sum())


def test_weighted_table_weights_percentages_and_means_but_keeps_counts():
    t = _table().dropna(subset=["age"]).reset_index(drop=True)
    w = np.where(t["sex"] == 2, 3.0, 1.0)
    t1 = table_one(t, exposed="a", reference="b", weights=w)
    female = t1.loc[(t1["variable"] == "Sex") & (t1["level"] == "female")].iloc[0]
    part = t[t.group == "a"]
    wa = w[t.group == "a"]
    assert female["pct_a"] == pytest.approx(100 * wa[part.sex == 2].sum() / wa.sum())
    assert female["n_a"] == int((part.sex == 2).sum())
    age = t1.loc[t1["variable"] == "Age, years"].iloc[0]
    assert age["mean_a"] == pytest.approx(np.average(part["age"], weights=wa))
    unweighted = table_one(t, exposed="a", reference="b")
    assert not math.isclose(age["smd"], unweighted.loc[unweighted["variable"] == "Age, years", "smd"].iloc[0])
