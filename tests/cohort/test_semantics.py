"""Washout windows, lookback before the study period and outcome populations, on a hand-built dataset.

Every patient below is built for one case (the comment says which); the expected rows and attrition
were worked out by hand from these lines (times: days from follow-up start, the index discharge, to the
event date; end of data 2015-12-31). Each test runs on DuckDB and on Spark.

Study: period 2012-2013, sepsis vs trauma, one inclusion rule ``washout`` (no sepsis stay in any role
in the 365 days before the index admission, the window ending the day before it), outcomes ``breast``
(population: women aged 50 or more) and ``lung`` (everyone); no covariate: a population is a
restriction, sex and age need not be covariates.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cohortstat.cohort import build_cohort
from cohortstat.errors import CohortError, CohortWarning
from cohortstat.spec import load_study
from tests.cohort import fixtures

P, R, A = fixtures.PRINCIPAL, fixtures.RELATED, fixtures.ASSOCIATED

PATIENTS = [
    ("W1", 1950, 2, None),  # woman 62, no prior sepsis: kept; breast cancer 2013-01-01 (event)
    ("W2", 1950, 2, None),  # sepsis stay in 2011, before the study period, within 365 days: washed out
    ("W3", 1951, 1, None),  # prior sepsis 366 days before the index admission: kept (man: no breast)
    ("W4", 1952, 1, None),  # prior sepsis exactly 365 days before: washed out
    ("W5", 1953, 2, None),  # another stay with sepsis (associated) admitted ON the index day: kept
    ("W6", 1954, 1, None),  # stay with sepsis (associated) admitted the day before the index: washed out
    ("W7", 1940, 1, None),  # man: outside the breast population; lung cancer (event)
    ("T1", 1960, 1, None),  # trauma with a sepsis stay before the period: the washout applies to both groups
    ("T2", 1955, 2, None),  # woman 57: breast cancer (event)
    ("T3", 1970, 2, None),  # woman 42: below min_age, outside the breast population; lung cancer (event)
    ("T4", 1950, 1, "2014-02-01"),  # man: outside the breast population; competing death for lung
    ("T5", None, 2, None),  # woman, birth year unknown: outside a population that restricts age
    ("T6", 1945, 2, None),  # woman 67 with breast cancer before the index: in the population, prevalent
]

STAYS = [
    ("W1a", "W1", "2012-03-01", "2012-03-10", "home", [("A419", P), ("R509", R)]),
    ("W1b", "W1", "2013-01-01", "2013-01-03", "home", [("C509", P)]),
    ("W2p", "W2", "2011-06-01", "2011-06-05", "home", [("A419", P)]),
    ("W2a", "W2", "2012-05-01", "2012-05-05", "home", [("A419", P)]),
    ("W3p", "W3", "2011-03-01", "2011-03-02", "home", [("A411", P)]),
    ("W3a", "W3", "2012-03-01", "2012-03-04", "home", [("A419", P)]),
    ("W4p", "W4", "2011-03-02", "2011-03-03", "home", [("A411", P)]),
    ("W4a", "W4", "2012-03-01", "2012-03-04", "home", [("A419", P)]),
    ("W5a", "W5", "2012-06-30", "2012-07-05", "home", [("A419", P)]),
    ("W5x", "W5", "2012-06-30", "2012-06-30", "home", [("Z000", P), ("A419", A)]),
    ("W6x", "W6", "2012-06-29", "2012-07-02", "home", [("Z000", P), ("A419", A)]),
    ("W6a", "W6", "2012-06-30", "2012-07-04", "home", [("A419", P)]),
    ("W7a", "W7", "2012-08-01", "2012-08-10", "home", [("A419", P)]),
    ("W7b", "W7", "2013-05-05", "2013-05-06", "home", [("C341", P)]),
    ("T1p", "T1", "2011-12-01", "2011-12-03", "home", [("A419", P)]),
    ("T1a", "T1", "2012-04-01", "2012-04-02", "home", [("S065", P)]),
    ("T2a", "T2", "2012-05-01", "2012-05-03", "home", [("S065", P)]),
    ("T2b", "T2", "2014-01-15", "2014-01-16", "home", [("C509", P)]),
    ("T3a", "T3", "2012-06-01", "2012-06-02", "home", [("S065", P)]),
    ("T3b", "T3", "2013-06-01", "2013-06-03", "home", [("C341", P)]),
    ("T4a", "T4", "2012-07-01", "2012-07-02", "home", [("S065", P)]),
    ("T5a", "T5", "2012-08-01", "2012-08-02", "home", [("S065", P)]),
    ("T6p", "T6", "2011-09-01", "2011-09-02", "home", [("C509", P)]),
    ("T6a", "T6", "2012-09-01", "2012-09-03", "home", [("S065", P)]),
]

STUDY = """
spec_version: 1
title: Washout and outcome populations
study_period: {start: 2012-01-01, end: 2013-12-31}
concept_sets:
  sepsis: {include: [A40, A41]}
  trauma: {include: [S06]}
  breast: {include: [C50]}
  lung: {include: [C34]}
cohorts:
  sepsis: {label: Sepsis, entry: {concept_sets: [sepsis], roles: [principal, related]}}
  trauma: {label: Trauma, entry: {concept_sets: [trauma], roles: [principal, related]}}
comparison: {exposed: sepsis, reference: trauma}
inclusion:
  - {id: washout, rule: no_prior_concept, concept_set: sepsis, lookback_days: LOOKBACK WINDOW}
follow_up: {anchor: discharge, end_of_data: 2015-12-31}
outcomes:
  breast: {label: Breast cancer, concept_set: breast, population: POPULATION}
  lung: {label: Lung cancer, concept_set: lung}
covariates: {age: false, sex: false, calendar_year: false, charlson: false}
"""


def study_text(window: str | None = "before_admission", population: str = "{sex: female, min_age: 50}",
               lookback: int = 365) -> str:
    end = f", window_end: {window}" if window else ""
    return (STUDY.replace("LOOKBACK WINDOW", f"{lookback}{end}").replace("POPULATION", population))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return fixtures.write_dataset(tmp_path_factory.mktemp("semantics"), PATIENTS, STAYS)


NAN = math.nan
COLUMNS = ["person_key", "group", "exposure", "index_admission", "index_discharge", "follow_up_start",
           "time_breast", "event_breast", "time_lung", "event_lung"]
# sepsis first, then by index admission, then patient id (W1 and W3 share 2012-03-01)
ROWS = [
    (1, "sepsis", "2012-03-01", "2012-03-10", 297, 1, 1391, 0),  # W1
    (2, "sepsis", "2012-03-01", "2012-03-04", NAN, NAN, 1397, 0),  # W3: man
    (3, "sepsis", "2012-06-30", "2012-07-05", 1274, 0, 1274, 0),  # W5
    (4, "sepsis", "2012-08-01", "2012-08-10", NAN, NAN, 268, 1),  # W7: man
    (5, "trauma", "2012-05-01", "2012-05-03", 622, 1, 1337, 0),  # T2
    (6, "trauma", "2012-06-01", "2012-06-02", NAN, NAN, 364, 1),  # T3: aged 42
    (7, "trauma", "2012-07-01", "2012-07-02", NAN, NAN, 579, 2),  # T4: man, competing death
    (8, "trauma", "2012-08-01", "2012-08-02", NAN, NAN, 1246, 0),  # T5: age unknown
    (9, "trauma", "2012-09-01", "2012-09-03", NAN, NAN, 1214, 0),  # T6: prevalent breast cancer
]
ATTRITION = [  # step, rule_id, n_sepsis, n_trauma, excluded_sepsis, excluded_trauma
    (0, "entry", 7, 6, 0, 0),
    (1, "in_both", 7, 6, 0, 0),
    (2, "washout", 4, 5, 3, 1),  # W2, W4, W6; T1
    (3, "under_follow_up", 4, 5, 0, 0),
]


def expected_table() -> pd.DataFrame:
    rows = []
    for key, group, adm, dis, tb, eb, tl, el in ROWS:
        rows.append({"person_key": key, "group": group, "exposure": int(group == "sepsis"),
                     "index_admission": pd.Timestamp(adm), "index_discharge": pd.Timestamp(dis),
                     "follow_up_start": pd.Timestamp(dis), "time_breast": float(tb), "event_breast": float(eb),
                     "time_lung": float(tl), "event_lung": float(el)})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"person_key": "int64", "exposure": "int64"})


def test_washout_and_population_rows_attrition_and_notes(engine, data):
    cohort = build_cohort(load_study(study_text()), data=data, engine=engine)
    pd.testing.assert_frame_equal(cohort.table, expected_table())
    att = cohort.attrition.drop(columns="description")
    expected = pd.DataFrame(ATTRITION, columns=list(att.columns))
    pd.testing.assert_frame_equal(att, expected.astype(att.dtypes.to_dict()))
    notes = cohort.notes
    # persons outside the population are counted apart from the prevalent cases
    assert ("outcome breast: analysed in women aged 50 years or more only (its population); persons outside "
            "it, time/event left empty: sepsis 2, trauma 3.") in notes
    assert any(n.startswith("outcome breast: not at risk") and n.endswith("sepsis 0, trauma 1.") for n in notes)
    assert any(n.startswith("outcome lung: not at risk") and n.endswith("sepsis 0, trauma 0.") for n in notes)
    assert not any("population" in n for n in notes if n.startswith("outcome lung"))
    # the data begin in 2011 (first discharge 2011-03-02): a 365-day lookback from 2012-01-01 is covered
    assert not any(n.startswith("lookback truncated") for n in notes)


def test_default_window_includes_the_index_stay(engine, data):
    """The default window (to the index discharge) holds the index stay itself: every exposed patient
    leaves, which is why a washout needs ``window_end: before_admission``."""
    with pytest.raises(CohortError, match=r"step 2 \(washout\) left no patient in group 'sepsis'"):
        build_cohort(load_study(study_text(window=None)), data=data, engine=engine)


def test_lookback_truncated_by_the_data_is_noted(engine, data):
    """730 days before 2012-01-01 is 2010-01-01; the data are taken to cover from 2011-01-01."""
    cohort = build_cohort(load_study(study_text(lookback=730)), data=data, engine=engine)
    note = [n for n in cohort.notes if n.startswith("lookback truncated by the data")]
    assert note == [
        "lookback truncated by the data: first stay discharged in March 2011 (the data are taken to cover whole "
        "years from 2011), while the study period starts in January 2012 and inclusion rule washout looks back "
        "730 days: patients indexed early in the study period have a shorter lookback."
    ]
    # W3's prior stay, 366 days before its index admission, is now in the window
    washout = cohort.attrition.set_index("rule_id").loc["washout"]
    assert (washout["excluded_sepsis"], washout["excluded_trauma"]) == (4, 1)


def test_population_leaving_a_group_empty_is_a_note_not_a_crash(engine, data):
    """Men aged 65 or more: W7 (72) in sepsis; the only trauma man, T4, is 62: nobody in trauma."""
    study = load_study(study_text(population="{sex: male, min_age: 65}"))
    with pytest.warns(CohortWarning) as caught:
        cohort = build_cohort(study, data=data, engine=engine)
    assert sorted(str(w.message) for w in caught if issubclass(w.category, CohortWarning)) == [
        f"outcome breast: group '{g}' has no outcome event; estimates for it are not defined." for g in ("sepsis", "trauma")
    ]
    t = cohort.table
    assert list(t.loc[t["time_breast"].notna(), "person_key"]) == [4]
    assert ("outcome breast: analysed in men aged 65 years or more only (its population); persons outside it, "
            "time/event left empty: sepsis 3, trauma 5.") in cohort.notes
    assert ("outcome breast: no trauma patient in its population (men aged 65 years or more); the groups are "
            "not compared on it.") in cohort.notes
