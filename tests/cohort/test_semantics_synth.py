"""Washout and outcome populations on ``cohortstat synth`` data, checked against the raw files.

The washout's expected exclusions are computed here from the parquet files with pandas, independently
of the builder: each patient's index stay (first stay admitted in the study period with an entry
diagnosis), then whether a stay with a sepsis code in any role was admitted 1 to 730 days before it.
The synthetic data hold stays from 2008 (before the 2010 study period), so the lookback reaches them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from cohortstat.cohort import build_cohort
from cohortstat.spec import load_study
from tests.cohort.conftest import STUDY

LOOKBACK = 730


def washout_study(population: bool = True):
    """The shipped study: every exposed patient kept in the exposed group (``in_both: exposed``), one
    inclusion rule (the washout of the exposure's own sepsis concept set), breast in women only."""
    doc = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    doc["comparison"]["in_both"] = "exposed"
    doc["inclusion"] = [{"id": "washout", "rule": "no_prior_concept", "concept_set": "sepsis",
                         "lookback_days": LOOKBACK, "roles": ["principal", "related", "associated"],
                         "window_end": "before_admission"}]
    doc["follow_up"]["blanking_days"] = 0
    if population:
        doc["outcomes"]["breast"]["population"] = {"sex": "female"}
    return load_study(doc)


def _codes_in(codes: pd.Series, prefixes) -> pd.Series:
    return codes.str.startswith(tuple(prefixes))


def expected_washout(data, study) -> dict[str, tuple[int, int]]:
    """Per group: patients at entry, after ``in_both``, washed out, washed out by stays before the
    study period only; from the raw files."""
    stays = pd.read_parquet(data / "stays.parquet")
    for col in ("admission_date", "discharge_date"):
        stays[col] = pd.to_datetime(stays[col])
    diags = pd.read_parquet(data / "diagnoses.parquet").merge(stays, on="stay_id")
    sets = study.concept_sets
    start, end = pd.Timestamp(study.study_period.start), pd.Timestamp(study.study_period.end)
    entries = {}
    for g in ("sepsis", "trauma"):
        entry = study.cohorts[g].entry
        prefixes = [p for cs in entry.concept_sets for p in sets[cs].include]
        q = diags[_codes_in(diags["icd10_code"], prefixes) & diags["role"].isin(entry.roles)
                  & diags["admission_date"].between(start, end)]
        q = q.sort_values(["patient_id", "admission_date", "discharge_date", "stay_id"])
        entries[g] = q.drop_duplicates("patient_id")[["patient_id", "admission_date"]]
    n_entry = {g: len(idx) for g, idx in entries.items()}
    # in_both: exposed -> a patient with both entries stays in sepsis only
    entries["trauma"] = entries["trauma"][~entries["trauma"]["patient_id"].isin(entries["sepsis"]["patient_id"])]
    prior = diags[_codes_in(diags["icd10_code"], sets["sepsis"].include)][["patient_id", "admission_date"]]
    out = {}
    for g, idx in entries.items():
        j = idx.merge(prior, on="patient_id", suffixes=("", "_prior"))
        gap = (j["admission_date"] - j["admission_date_prior"]).dt.days
        hits = j.loc[(gap >= 1) & (gap <= LOOKBACK)]
        in_period = hits.loc[hits["admission_date_prior"] >= start, "patient_id"]
        only_before = set(hits["patient_id"]) - set(in_period)
        out[g] = (n_entry[g], len(idx), hits["patient_id"].nunique(), len(only_before))
    return out


def test_washout_excludes_exactly_the_patients_with_a_prior_exposure_stay(layouts):
    data = layouts["pmsi"]
    study = washout_study()
    cohort = build_cohort(study, data=data, engine="duckdb")
    att = cohort.attrition.set_index("rule_id")
    expected = expected_washout(data, study)
    for g, (n_entry, n_kept, washed, _) in expected.items():
        assert int(att.loc["entry", f"n_{g}"]) == n_entry
        assert int(att.loc["in_both", f"n_{g}"]) == n_kept
        assert int(att.loc["washout", f"excluded_{g}"]) == washed
    # some patients are washed out by stays admitted before the study period only (lookback before it)
    assert expected["sepsis"][3] > 0 and expected["trauma"][3] > 0
    assert not any(n.startswith("lookback truncated") for n in cohort.notes)  # the data begin in 2008


def test_population_removes_the_outcome_in_men_only(layouts):
    data = layouts["pmsi"]
    restricted = build_cohort(washout_study(), data=data).table
    full = build_cohort(washout_study(population=False), data=data).table
    men = restricted["sex"] == 1
    assert restricted.loc[men, ["time_breast", "event_breast"]].isna().all().all()
    women = ~men
    pd.testing.assert_frame_equal(restricted.loc[women], full.loc[women])
    assert (full.loc[men, "time_breast"].notna()).any()
    others = [c for c in full.columns if c not in ("time_breast", "event_breast")]
    pd.testing.assert_frame_equal(restricted[others], full[others])


@pytest.mark.spark
def test_spark_builds_the_same_cohort(layouts, spark_session):
    study = washout_study()
    duck = build_cohort(study, data=layouts["pmsi"], engine="duckdb")
    spark = build_cohort(study, data=layouts["pmsi"], engine="spark")
    pd.testing.assert_frame_equal(duck.table, spark.table)
    pd.testing.assert_frame_equal(duck.attrition, spark.attrition)
    assert duck.notes == spark.notes
    assert np.isnan(duck.table.loc[duck.table["sex"] == 1, "time_breast"]).all()
