"""The propensity model's own covariates are built by the cohort: the count of prior stays (baseline
window [index admission - 730 days, index admission), index stay not counted), Charlson components and
flags only the propensity model uses. Hand-built cases; both engines."""

from __future__ import annotations

import pandas as pd
import pytest

from cohortstat.cohort import build_cohort
from cohortstat.spec import load_study
from tests.cohort import fixtures

PRINCIPAL = fixtures.PRINCIPAL

PATIENTS = [
    ("R1", 1950, 1, None),  # no other stay: 0
    ("R2", 1951, 2, None),  # stays 730 days before (counted) and 731 days before (not): 1
    ("R3", 1952, 1, None),  # two stays in the window, one the day before the index admission: 2
    ("R4", 1953, 2, None),  # another stay admitted the same day as the index stay, one after: 0
    ("R5", 1954, 1, None),  # a prior stay with a tobacco code (a flag of the propensity model only): 1
    ("R6", 1955, 2, None),  # reference, no other stay: 0
]

STAYS = [
    ("U1", "R1", "2012-06-01", "2012-06-05", "home", [("A419", PRINCIPAL)]),
    ("U1o", "R1", "2013-01-01", "2013-01-02", "home", [("C341", PRINCIPAL)]),  # outcome, after the index
    ("U2", "R2", "2012-06-01", "2012-06-05", "home", [("A419", PRINCIPAL)]),
    ("U2a", "R2", "2010-06-02", "2010-06-03", "home", [("R51", PRINCIPAL)]),  # 730 days before
    ("U2b", "R2", "2010-06-01", "2010-06-03", "home", [("R51", PRINCIPAL)]),  # 731 days before
    ("U3", "R3", "2012-06-01", "2012-06-05", "home", [("S065", PRINCIPAL)]),
    ("U3a", "R3", "2011-01-10", "2011-01-12", "home", [("R51", PRINCIPAL)]),
    ("U3b", "R3", "2012-05-31", "2012-05-31", "home", [("R51", PRINCIPAL)]),
    ("U4", "R4", "2012-06-01", "2012-06-05", "home", [("S065", PRINCIPAL)]),
    ("U4a", "R4", "2012-06-01", "2012-06-02", "home", [("R51", PRINCIPAL)]),
    ("U4b", "R4", "2012-08-01", "2012-08-02", "home", [("R51", PRINCIPAL)]),
    ("U5", "R5", "2012-06-01", "2012-06-05", "home", [("A419", PRINCIPAL)]),
    ("U5a", "R5", "2012-01-01", "2012-01-02", "home", [("F171", PRINCIPAL), ("I21", PRINCIPAL)]),
    ("U6", "R6", "2012-06-01", "2012-06-05", "home", [("S065", PRINCIPAL)]),
    ("U6o", "R6", "2013-02-01", "2013-02-02", "home", [("C341", PRINCIPAL)]),  # outcome, after the index
]

STUDY = """
spec_version: 1
title: Prior stays
study_period: {start: 2012-01-01, end: 2013-12-31}
concept_sets:
  sepsis: {include: [A41]}
  trauma: {include: [S06]}
  lung: {include: [C34]}
  tobacco: {include: [F17]}
cohorts:
  sepsis: {label: Sepsis, entry: {concept_sets: [sepsis], roles: [principal]}}
  trauma: {label: Trauma, entry: {concept_sets: [trauma], roles: [principal]}}
comparison: {exposed: sepsis, reference: trauma, in_both: exclude}
follow_up: {anchor: discharge, end_of_data: 2014-06-30}
outcomes:
  lung: {label: Lung cancer, concept_set: lung, roles: [principal]}
covariates: {age: true, sex: true, calendar_year: false, charlson: false, flags: []}
analyses:
  confounding:
    method: iptw
    covariates:
      age: {form: spline, df: 2}
      calendar_year: false
      charlson: components
      prior_stays: true
      flags: [{name: smoker, concept_set: tobacco, lookback_days: 365, roles: [principal]}]
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return fixtures.write_dataset(tmp_path_factory.mktemp("prior"), PATIENTS, STAYS)


def test_prior_stays_components_and_propensity_flags_are_built(data, engine):
    cohort = build_cohort(load_study(STUDY), data=data, engine=engine)
    t = cohort.table.sort_values("index_admission", kind="stable")
    by_age = t.set_index("age")  # one patient per birth year (index year 2012)
    expected = {62: 0, 61: 1, 60: 2, 59: 0, 58: 1, 57: 0}
    assert by_age["prior_stays"].to_dict() == expected
    assert t["prior_stays"].dtype == "int64"
    assert by_age.loc[58, "smoker"] == 1 and by_age.loc[62, "smoker"] == 0
    assert by_age.loc[58, "cci_mi"] == 1 and by_age.loc[62, "cci_mi"] == 0
    assert "charlson" in t.columns and "calendar_year" not in t.columns


def test_studies_without_the_key_build_the_same_columns(data):
    plain = STUDY.split("  confounding:")[0] + "  confounding: {method: iptw}\n"
    cohort = build_cohort(load_study(plain), data=data, engine="duckdb")
    assert "prior_stays" not in cohort.table.columns
    assert not any(c.startswith("cci_") for c in cohort.table.columns)
    assert isinstance(cohort.table, pd.DataFrame)
