"""Hand-built tiny PMSI-like datasets and the studies run on them (tests/cohort).

Every patient is built for one boundary case; the comment beside it says which, and the expected
analysis rows (test_builder.py) were worked out by hand from these lines. Dates are ISO strings.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

PRINCIPAL, RELATED, ASSOCIATED = "principal", "related", "associated"

# ------------------------------------------------------------------------------------------------
# Main dataset: study MAIN_STUDY (period 2012-2013, anchor discharge + 365 days blanking)
# patients: (patient_id, birth_year, sex, death_date)
# stays:    (stay_id, patient_id, admission, discharge, discharge_mode, [(code, role), ...])
# ------------------------------------------------------------------------------------------------
MAIN_PATIENTS = [
    ("P01", 1950, 1, None),  # plain sepsis survivor, censored at end of data
    ("P02", 1960, 2, None),  # sepsis in the related role; lung cancer in an associated role later
    ("P03", 1950, 1, None),  # sepsis only as an associated diagnosis: not an entry event
    ("P04", 1955, 1, None),  # earlier sepsis stay before the study period; outcome ON follow-up start
    ("P05", 1955, 2, None),  # outcome inside the blanking period
    ("P06", 1965, 1, None),  # outcome the day after follow-up start
    ("P07", 1945, 2, "2014-01-10"),  # death on the same day as the outcome
    ("P08", 1940, 1, "2015-01-01"),  # competing death
    ("P09", 1940, 2, "2013-05-01"),  # death during blanking
    ("P10", 1942, 1, "2013-10-15"),  # death exactly on follow-up start
    ("P11", 1938, 2, "2012-11-05"),  # index stay ends in death
    ("P12", 1994, 1, None),  # age 18 at index: kept
    ("P13", 1995, 2, None),  # age 17 at index: excluded
    ("P14", None, 1, None),  # missing birth year: excluded by the age rule
    ("P15", 1950, 1, None),  # prior cancer exactly 730 days before index admission: excluded
    ("P16", 1950, 2, None),  # prior cancer 731 days before: kept, but prevalent for all-cancer outcome
    ("P17", 1950, 1, None),  # cancer diagnosed during the index stay: excluded
    ("P18", 1950, 2, None),  # prior C443 (excluded from the cancer concept set): kept
    ("P19", 1950, 1, None),  # index stay straddling the study end (admitted in the period): kept
    ("P20", 1950, 2, None),  # sepsis admitted after the study end: not an entry event
    ("P21", 1950, 1, None),  # in both groups, sepsis first
    ("P22", 1951, 2, None),  # in both groups, trauma first
    ("P23", 1952, 1, None),  # in both groups, same stay
    ("P30", 1970, 2, None),  # Charlson MI + diabetes hierarchy; tobacco; outcome on end of data
    ("P31", 1971, 1, None),  # Charlson liver hierarchy + AIDS; tobacco outside its lookback
    ("P32", 1972, 2, None),  # lookback boundaries for tobacco (365) and Charlson (730)
    ("P33", 1973, 1, None),  # earlier trauma only in the associated role; related role entry
    ("P34", 1974, 2, None),  # two qualifying stays admitted the same day: earlier discharge wins
    ("P35", 1960, 1, None),  # death known only from a stay's discharge mode
    ("P36", 1961, 2, None),  # outcome after end of data: censored
    ("P37", 1962, 1, "2016-02-01"),  # outcome only in an associated role (role-restricted outcome)
    ("P38", 1963, 2, "2017-03-01"),  # death after end of data: censored
    ("P39", 1964, 1, "2012-09-10"),  # death date = index discharge although mode home: excluded
    ("P40", 1965, 2, None),  # same-day index stay
    ("P41", 1966, 1, None),  # no qualifying stay
]

MAIN_STAYS = [
    ("S01a", "P01", "2012-03-01", "2012-03-10", "home", [("A419", PRINCIPAL)]),
    ("S02a", "P02", "2012-05-01", "2012-05-05", "home", [("J189", PRINCIPAL), ("A410", RELATED)]),
    ("S02b", "P02", "2014-06-01", "2014-06-03", "home", [("Z510", PRINCIPAL), ("C341", ASSOCIATED)]),
    ("S03a", "P03", "2012-03-03", "2012-03-04", "home", [("J189", PRINCIPAL), ("A419", ASSOCIATED)]),
    ("S04a", "P04", "2011-11-15", "2011-11-20", "home", [("A419", PRINCIPAL)]),
    ("S04b", "P04", "2012-04-01", "2012-04-05", "home", [("A419", PRINCIPAL)]),
    ("S04c", "P04", "2013-04-05", "2013-04-07", "home", [("C349", PRINCIPAL)]),
    ("S05a", "P05", "2012-06-01", "2012-06-10", "transfer", [("A418", PRINCIPAL)]),
    ("S05b", "P05", "2012-12-01", "2012-12-03", "home", [("C340", PRINCIPAL)]),
    ("S06a", "P06", "2012-06-25", "2012-07-01", "home", [("A419", PRINCIPAL)]),
    ("S06b", "P06", "2013-07-02", "2013-07-05", "home", [("C341", PRINCIPAL)]),
    ("S07a", "P07", "2012-07-25", "2012-08-01", "home", [("A419", PRINCIPAL)]),
    ("S07b", "P07", "2014-01-10", "2014-01-10", "death", [("C341", PRINCIPAL)]),
    ("S08a", "P08", "2012-08-20", "2012-09-01", "home", [("I10", PRINCIPAL), ("A400", RELATED)]),
    ("S09a", "P09", "2012-09-20", "2012-10-01", "home", [("A419", PRINCIPAL)]),
    ("S10a", "P10", "2012-10-10", "2012-10-15", "home", [("A419", PRINCIPAL)]),
    ("S11a", "P11", "2012-11-01", "2012-11-05", "death", [("A419", PRINCIPAL)]),
    ("S12a", "P12", "2012-03-20", "2012-03-25", "home", [("A419", PRINCIPAL)]),
    ("S13a", "P13", "2012-04-20", "2012-04-22", "home", [("A419", PRINCIPAL)]),
    ("S14a", "P14", "2012-05-20", "2012-05-22", "home", [("A419", PRINCIPAL)]),
    ("S15p", "P15", "2011-03-02", "2011-03-03", "home", [("C509", ASSOCIATED)]),
    ("S15a", "P15", "2013-03-01", "2013-03-05", "home", [("A419", PRINCIPAL)]),
    ("S16p", "P16", "2011-03-02", "2011-03-03", "home", [("C509", PRINCIPAL)]),
    ("S16a", "P16", "2013-03-02", "2013-03-06", "home", [("A419", PRINCIPAL)]),
    ("S17a", "P17", "2013-04-10", "2013-04-15", "home", [("A419", PRINCIPAL), ("C189", ASSOCIATED)]),
    ("S18p", "P18", "2012-12-01", "2012-12-02", "home", [("C443", PRINCIPAL)]),
    ("S18a", "P18", "2013-05-10", "2013-05-12", "home", [("A419", PRINCIPAL)]),
    ("S19a", "P19", "2013-12-30", "2014-01-05", "home", [("A419", PRINCIPAL)]),
    ("S20a", "P20", "2014-01-02", "2014-01-03", "home", [("A419", PRINCIPAL)]),
    ("S21a", "P21", "2012-05-10", "2012-05-12", "home", [("A419", PRINCIPAL)]),
    ("S21b", "P21", "2013-01-10", "2013-01-12", "home", [("S065", PRINCIPAL)]),
    ("S22a", "P22", "2012-06-01", "2012-06-03", "home", [("S061", PRINCIPAL)]),
    ("S22b", "P22", "2012-09-01", "2012-09-04", "home", [("A419", PRINCIPAL)]),
    ("S23a", "P23", "2012-07-15", "2012-07-20", "home", [("A419", PRINCIPAL), ("S062", RELATED)]),
    ("S30p", "P30", "2011-06-01", "2011-06-02", "home",
     [("Z000", PRINCIPAL), ("E112", ASSOCIATED), ("E119", ASSOCIATED), ("I219", ASSOCIATED),
      ("F170", ASSOCIATED)]),
    ("S30a", "P30", "2012-03-05", "2012-03-15", "home", [("S065", PRINCIPAL)]),
    ("S30o", "P30", "2016-12-31", "2017-01-02", "home", [("C341", PRINCIPAL)]),
    ("S31p", "P31", "2010-01-01", "2010-01-02", "home", [("F171", PRINCIPAL)]),
    ("S31a", "P31", "2012-04-01", "2012-04-10", "home",
     [("S066", PRINCIPAL), ("K703", ASSOCIATED), ("K721", ASSOCIATED), ("B20", ASSOCIATED)]),
    ("S32c", "P32", "2010-04-04", "2010-04-05", "home", [("I500", PRINCIPAL)]),
    ("S32m", "P32", "2010-04-05", "2010-04-06", "home", [("R69", PRINCIPAL), ("I214", ASSOCIATED)]),
    ("S32t", "P32", "2011-04-05", "2011-04-05", "home", [("R69", PRINCIPAL), ("F172", ASSOCIATED)]),
    ("S32a", "P32", "2012-04-04", "2012-04-06", "home", [("S068", PRINCIPAL)]),
    ("S33x", "P33", "2012-02-01", "2012-02-02", "home", [("R51", PRINCIPAL), ("S060", ASSOCIATED)]),
    ("S33a", "P33", "2012-10-01", "2012-10-03", "home", [("R51", PRINCIPAL), ("S064", RELATED)]),
    ("S34a", "P34", "2012-11-11", "2012-11-20", "transfer", [("S065", PRINCIPAL)]),
    ("S34b", "P34", "2012-11-11", "2012-11-12", "home", [("S066", PRINCIPAL)]),
    ("S35a", "P35", "2012-05-15", "2012-05-20", "home", [("S065", PRINCIPAL)]),
    ("S35d", "P35", "2015-06-01", "2015-06-10", "death", [("I219", PRINCIPAL)]),
    ("S36a", "P36", "2012-06-15", "2012-06-16", "home", [("S065", PRINCIPAL)]),
    ("S36o", "P36", "2017-01-05", "2017-01-06", "home", [("C341", PRINCIPAL)]),
    ("S37a", "P37", "2012-07-10", "2012-07-11", "home", [("S065", PRINCIPAL)]),
    ("S37o", "P37", "2014-02-01", "2014-02-03", "home", [("Z511", PRINCIPAL), ("C342", ASSOCIATED)]),
    ("S38a", "P38", "2012-08-08", "2012-08-09", "home", [("S065", PRINCIPAL)]),
    ("S39a", "P39", "2012-09-01", "2012-09-10", "home", [("S065", PRINCIPAL)]),
    ("S40a", "P40", "2013-06-01", "2013-06-01", "home", [("S065", PRINCIPAL)]),
    ("S41a", "P41", "2012-05-05", "2012-05-06", "home", [("J189", PRINCIPAL)]),
]

ANALYSES = """
analyses:
  cox: {crude: true, adjusted: true, ties: efron, strata: [], variance: model}
  fine_gray: {crude: true, adjusted: true, variance: crr}
  confounding: {method: none}
  ph_test: {transform: km, alpha: 0.05}
"""

MAIN_STUDY = """
spec_version: 1
title: Tiny main study
description: Hand-built boundary cases.
study_period: {start: 2012-01-01, end: 2013-12-31}
concept_sets:
  sepsis: {description: Sepsis, include: [A40, A41]}
  trauma: {description: Intracranial injury, include: [S06]}
  cancer: {description: Cancer but one skin code, include: [C00-C97], exclude: [C443]}
  lung: {description: Lung cancer, include: [C34]}
  tobacco: {description: Tobacco, include: [F17]}
cohorts:
  sepsis:
    label: Sepsis
    entry: {concept_sets: [sepsis], roles: [principal, related]}
  trauma:
    label: Trauma
    entry: {concept_sets: [trauma], roles: [principal, related]}
comparison: {exposed: sepsis, reference: trauma, in_both: IN_BOTH}
inclusion:
  - {id: adult, description: Aged 18 or over, rule: age_at_index, min_years: 18}
  - id: no_prior_cancer
    description: No cancer in the two years before or during the index stay
    rule: no_prior_concept
    concept_set: cancer
    lookback_days: 730
    roles: [principal, related, associated]
  - {id: alive_at_discharge, description: Discharged alive, rule: alive_at_discharge}
follow_up:
  anchor: discharge
  offset_days: 0
  blanking_days: 365
  max_days: null
  end_of_data: 2016-12-31
outcomes:
  lung: {label: Lung cancer, concept_set: lung, roles: [principal, related, associated]}
  cancer: {label: Cancer as principal diagnosis, concept_set: cancer, roles: [principal]}
competing_events: [death]
covariates:
  age: true
  sex: true
  calendar_year: true
  charlson: true
  flags:
    - {name: tobacco, concept_set: tobacco, lookback_days: 365,
       roles: [principal, related, associated]}
""" + ANALYSES


def main_study_text(in_both: str = "exclude") -> str:
    """The main tiny study with a chosen ``comparison.in_both``."""
    return MAIN_STUDY.replace("IN_BOTH", in_both)


# ------------------------------------------------------------------------------------------------
# Follow-up dataset: study FU_STUDY (anchor admission + 10 days offset + 20 days blanking, max 365
# days, landmark 30 days, no competing event, covariates off)
# ------------------------------------------------------------------------------------------------
FU_PATIENTS = [
    ("Q1", 1950, 1, None),  # censored at max follow-up
    ("Q2", 1950, 2, "2012-05-01"),  # death exactly on the landmark day: excluded
    ("Q3", 1950, 1, "2012-08-01"),  # death, not a competing event: censored at death
    ("Q4", 1950, 2, None),  # outcome inside offset + blanking
    ("Q5", 1950, 1, None),  # censored at end of data before max follow-up
    ("Q6", 1950, 2, None),  # outcome within max follow-up
    ("Q7", 1950, 1, None),  # outcome after max follow-up: censored at max
    ("Q8", 1950, 2, "2012-09-20"),  # index stay ends in death (no alive-at-discharge rule)
    ("Q9", 1950, 1, "2012-10-25"),  # death 10 days after follow-up start
    ("Q10", 1950, 2, None),  # outcome before the index stay: prevalent
]

FU_STAYS = [
    ("T1", "Q1", "2012-03-01", "2012-03-05", "home", [("A419", PRINCIPAL)]),
    ("T2", "Q2", "2012-04-01", "2012-04-03", "home", [("A419", PRINCIPAL)]),
    ("T3", "Q3", "2012-05-01", "2012-05-02", "home", [("A419", PRINCIPAL)]),
    ("T4", "Q4", "2012-06-01", "2012-06-02", "home", [("A419", PRINCIPAL)]),
    ("T4o", "Q4", "2012-06-20", "2012-06-21", "home", [("C341", PRINCIPAL)]),
    ("T5", "Q5", "2013-11-01", "2013-11-02", "home", [("A419", PRINCIPAL)]),
    ("T6", "Q6", "2012-03-10", "2012-03-11", "home", [("S065", PRINCIPAL)]),
    ("T6o", "Q6", "2013-03-10", "2013-03-11", "home", [("C341", PRINCIPAL)]),
    ("T7", "Q7", "2012-07-07", "2012-07-08", "home", [("S065", PRINCIPAL)]),
    ("T7o", "Q7", "2013-09-01", "2013-09-02", "home", [("C341", PRINCIPAL)]),
    ("T8", "Q8", "2012-09-09", "2012-09-20", "death", [("S065", PRINCIPAL)]),
    ("T9", "Q9", "2012-09-15", "2012-09-16", "home", [("S065", RELATED), ("R51", PRINCIPAL)]),
    ("T10o", "Q10", "2012-11-01", "2012-11-02", "home", [("C341", PRINCIPAL)]),
    ("T10", "Q10", "2012-12-01", "2012-12-02", "home", [("S065", PRINCIPAL), ("R69", ASSOCIATED)]),
]

FU_STUDY = """
spec_version: 1
title: Tiny follow-up study
description: Hand-built follow-up boundary cases.
study_period: {start: 2012-01-01, end: 2013-12-31}
concept_sets:
  sepsis: {description: Sepsis, include: [A41]}
  trauma: {description: Intracranial injury, include: [S06]}
  lung: {description: Lung cancer, include: [C34]}
cohorts:
  sepsis:
    label: Sepsis
    entry: {concept_sets: [sepsis], roles: [principal]}
  trauma:
    label: Trauma
    entry: {concept_sets: [trauma], roles: [principal, related]}
comparison: {exposed: sepsis, reference: trauma, in_both: exclude}
inclusion:
  - {id: landmark, description: Alive 30 days after admission, rule: alive_at_landmark, days: 30}
follow_up:
  anchor: admission
  offset_days: 10
  blanking_days: 20
  max_days: 365
  end_of_data: 2014-06-30
outcomes:
  lung: {label: Lung cancer, concept_set: lung, roles: [principal]}
competing_events: []
covariates: {age: false, sex: false, calendar_year: false, charlson: false, flags: []}
""" + ANALYSES


def _date(value):
    return None if value is None else dt.date.fromisoformat(value)


def write_dataset(out: Path, patients, stays) -> Path:
    """Write patients/stays/diagnoses parquet files of a hand-built dataset to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    p = pd.DataFrame(patients, columns=["patient_id", "birth_year", "sex", "death_date"])
    p["birth_year"] = p["birth_year"].astype("Int64")
    p["sex"] = p["sex"].astype("int64")
    p["death_date"] = p["death_date"].map(_date)
    s = pd.DataFrame(
        [row[:5] for row in stays],
        columns=["stay_id", "patient_id", "admission_date", "discharge_date", "discharge_mode"],
    )
    s["admission_date"] = s["admission_date"].map(_date)
    s["discharge_date"] = s["discharge_date"].map(_date)
    d = pd.DataFrame(
        [(row[0], code, role) for row in stays for code, role in row[5]],
        columns=["stay_id", "icd10_code", "role"],
    )
    import pyarrow as pa
    import pyarrow.parquet as pq

    date_schema = {"death_date", "admission_date", "discharge_date"}
    for name, frame in (("patients", p), ("stays", s), ("diagnoses", d)):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for col in date_schema & set(frame.columns):
            i = table.schema.get_field_index(col)
            table = table.set_column(i, col, pa.array(frame[col].tolist(), type=pa.date32()))
        pq.write_table(table, out / f"{name}.parquet")
    return out
