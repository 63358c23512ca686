"""Hand-built datasets -> analysis rows written by hand; each test runs on DuckDB and on Spark.

Expected rows below were worked out by hand from tests/cohort/fixtures.py (the comment beside each
patient says which boundary case it is). Times are days from follow-up start to the event date.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cohortstat.cohort import build_cohort, charlson
from cohortstat.errors import CohortWarning
from cohortstat.spec import load_study
from tests.cohort import fixtures

NAN = None  # not at risk for that outcome

CCI = [f"cci_{k}" for k in charlson.COMPONENTS]


def _row(key, group, adm, dis, fu, age, sex, lung, cancer, cci=(), tobacco=0):
    row = {
        "person_key": key,
        "group": group,
        "exposure": 1 if group == "sepsis" else 0,
        "index_admission": pd.Timestamp(adm),
        "index_discharge": pd.Timestamp(dis),
        "follow_up_start": pd.Timestamp(fu),
        "age": age,
        "sex": sex,
        "calendar_year": int(adm[:4]),
        "charlson": sum(charlson.WEIGHTS[c] for c in cci),
    }
    row.update({f"cci_{k}": int(k in cci) for k in charlson.COMPONENTS})
    row["tobacco"] = tobacco
    for name, value in (("lung", lung), ("cancer", cancer)):
        row[f"time_{name}"] = math.nan if value is NAN else float(value[0])
        row[f"event_{name}"] = math.nan if value is NAN else float(value[1])
    return row


# (time, event): event 0 censored, 1 outcome, 2 death
MAIN_ROWS = [
    # sepsis, ordered by index admission
    _row(1, "sepsis", "2012-03-01", "2012-03-10", "2013-03-10", 62, 1, (1392, 0), (1392, 0)),  # P01
    _row(2, "sepsis", "2012-03-20", "2012-03-25", "2013-03-25", 18, 1, (1377, 0), (1377, 0)),  # P12
    _row(3, "sepsis", "2012-04-01", "2012-04-05", "2013-04-05", 57, 1, NAN, NAN),  # P04
    _row(4, "sepsis", "2012-05-01", "2012-05-05", "2013-05-05", 52, 2, (392, 1), (1336, 0)),  # P02
    _row(5, "sepsis", "2012-06-01", "2012-06-10", "2013-06-10", 57, 2, NAN, NAN),  # P05
    _row(6, "sepsis", "2012-06-25", "2012-07-01", "2013-07-01", 47, 1, (1, 1), (1, 1)),  # P06
    _row(7, "sepsis", "2012-07-25", "2012-08-01", "2013-08-01", 67, 2, (162, 1), (162, 1)),  # P07
    _row(8, "sepsis", "2012-08-20", "2012-09-01", "2013-09-01", 72, 1, (487, 2), (487, 2)),  # P08
    _row(9, "sepsis", "2013-03-02", "2013-03-06", "2014-03-06", 63, 2, (1031, 0), NAN),  # P16
    _row(10, "sepsis", "2013-05-10", "2013-05-12", "2014-05-12", 63, 2, (964, 0), (964, 0)),  # P18
    _row(11, "sepsis", "2013-12-30", "2014-01-05", "2015-01-05", 63, 1, (726, 0), (726, 0)),  # P19
    # trauma
    _row(12, "trauma", "2012-03-05", "2012-03-15", "2013-03-15", 42, 2, (1387, 1), (1387, 1),
         cci=("mi", "diabwc"), tobacco=1),  # P30
    _row(13, "trauma", "2012-04-01", "2012-04-10", "2013-04-10", 41, 1, (1361, 0), (1361, 0),
         cci=("msld", "aids")),  # P31
    _row(14, "trauma", "2012-04-04", "2012-04-06", "2013-04-06", 40, 2, (1365, 0), (1365, 0),
         cci=("mi",), tobacco=1),  # P32
    _row(15, "trauma", "2012-05-15", "2012-05-20", "2013-05-20", 52, 1, (751, 2), (751, 2)),  # P35
    _row(16, "trauma", "2012-06-15", "2012-06-16", "2013-06-16", 51, 2, (1294, 0), (1294, 0)),  # P36
    _row(17, "trauma", "2012-07-10", "2012-07-11", "2013-07-11", 50, 1, (205, 1), (935, 2)),  # P37
    _row(18, "trauma", "2012-08-08", "2012-08-09", "2013-08-09", 49, 2, (1240, 0), (1240, 0)),  # P38
    _row(19, "trauma", "2012-10-01", "2012-10-03", "2013-10-03", 39, 1, (1185, 0), (1185, 0)),  # P33
    _row(20, "trauma", "2012-11-11", "2012-11-12", "2013-11-12", 38, 2, (1145, 0), (1145, 0)),  # P34
    _row(21, "trauma", "2013-06-01", "2013-06-01", "2014-06-01", 48, 2, (944, 0), (944, 0)),  # P40
]

MAIN_ATTRITION = [
    # step, rule_id, n_sepsis, n_trauma, excluded_sepsis, excluded_trauma
    (0, "entry", 21, 14, 0, 0),
    (1, "in_both", 18, 11, 3, 3),
    (2, "adult.birth_year", 17, 11, 1, 0),  # P14: birth year unknown
    (3, "adult", 16, 11, 1, 0),
    (4, "no_prior_cancer", 14, 11, 2, 0),
    (5, "alive_at_discharge", 13, 10, 1, 1),
    (6, "under_follow_up", 11, 10, 2, 0),
]

# rows of the patients in both groups under the other in_both settings
P21_SEPSIS = _row(0, "sepsis", "2012-05-10", "2012-05-12", "2013-05-12", 62, 1, (1329, 0), (1329, 0))
P22_TRAUMA = _row(0, "trauma", "2012-06-01", "2012-06-03", "2013-06-03", 61, 2, (1307, 0), (1307, 0))
P22_SEPSIS = _row(0, "sepsis", "2012-09-01", "2012-09-04", "2013-09-04", 61, 2, (1214, 0), (1214, 0))
P23_SEPSIS = _row(0, "sepsis", "2012-07-15", "2012-07-20", "2013-07-20", 60, 1, (1260, 0), (1260, 0))


def _frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in frame.columns:
        if col.startswith(("time_", "event_")):
            frame[col] = frame[col].astype("float64")
        elif col not in ("group",) and not col.startswith(("index_", "follow_")):
            frame[col] = frame[col].astype("int64")
    return frame


def _attrition(rows) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["step", "rule_id", "n_sepsis", "n_trauma", "excluded_sepsis",
                       "excluded_trauma"]
    ).astype({c: "int64" for c in ("step", "n_sepsis", "n_trauma", "excluded_sepsis",
                                   "excluded_trauma")})


def _renumbered(rows) -> pd.DataFrame:
    """Expected frame in the builder's order (exposed first, then by index admission)."""
    frame = _frame(rows).sort_values(["exposure", "index_admission"], ascending=[False, True])
    frame["person_key"] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame.reset_index(drop=True)


def test_main_study_rows_and_attrition(engine, main_data):
    cohort = build_cohort(load_study(fixtures.main_study_text()), data=main_data, engine=engine)
    expected = _frame(MAIN_ROWS)
    pd.testing.assert_frame_equal(cohort.table, expected)
    att = cohort.attrition
    assert list(att.columns) == ["step", "rule_id", "description", "n_sepsis", "n_trauma",
                                 "excluded_sepsis", "excluded_trauma"]
    pd.testing.assert_frame_equal(att.drop(columns="description"), _attrition(MAIN_ATTRITION))
    assert att["description"].iloc[2] == "Birth year known (age at index computable)"
    assert att["description"].iloc[3] == "Aged 18 or over"
    # prevalent / blanking outcomes are counted in the notes, per outcome and group
    assert any("outcome lung: not at risk" in n and "sepsis 2, trauma 0" in n for n in cohort.notes)
    assert any("outcome cancer: not at risk" in n and "sepsis 3, trauma 0" in n for n in cohort.notes)
    # Charlson score is the weighted sum of the (hierarchy-applied) components
    weights = np.array([charlson.WEIGHTS[k] for k in charlson.COMPONENTS])
    assert (cohort.table[CCI].to_numpy() @ weights == cohort.table["charlson"].to_numpy()).all()


@pytest.mark.parametrize(
    ("in_both", "extra", "attrition"),
    [
        ("first_event", [P21_SEPSIS, P22_TRAUMA, P23_SEPSIS],
         [(0, "entry", 21, 14, 0, 0), (1, "in_both", 20, 12, 1, 2), (2, "adult.birth_year", 19, 12, 1, 0),
          (3, "adult", 18, 12, 1, 0), (4, "no_prior_cancer", 16, 12, 2, 0),
          (5, "alive_at_discharge", 15, 11, 1, 1), (6, "under_follow_up", 13, 11, 2, 0)]),
        ("exposed", [P21_SEPSIS, P22_SEPSIS, P23_SEPSIS],
         [(0, "entry", 21, 14, 0, 0), (1, "in_both", 21, 11, 0, 3), (2, "adult.birth_year", 20, 11, 1, 0),
          (3, "adult", 19, 11, 1, 0), (4, "no_prior_cancer", 17, 11, 2, 0),
          (5, "alive_at_discharge", 16, 10, 1, 1), (6, "under_follow_up", 14, 10, 2, 0)]),
    ],
)
def test_patients_in_both_groups(engine, main_data, in_both, extra, attrition):
    cohort = build_cohort(load_study(fixtures.main_study_text(in_both)), data=main_data,
                          engine=engine)
    pd.testing.assert_frame_equal(cohort.table, _renumbered(MAIN_ROWS + extra))
    pd.testing.assert_frame_equal(cohort.attrition.drop(columns="description"),
                                  _attrition(attrition))


def _fu_row(key, group, adm, dis, fu, lung):
    return {
        "person_key": key, "group": group, "exposure": 1 if group == "sepsis" else 0,
        "index_admission": pd.Timestamp(adm), "index_discharge": pd.Timestamp(dis),
        "follow_up_start": pd.Timestamp(fu),
        "time_lung": math.nan if lung is NAN else float(lung[0]),
        "event_lung": math.nan if lung is NAN else float(lung[1]),
    }


FU_ROWS = [
    _fu_row(1, "sepsis", "2012-03-01", "2012-03-05", "2012-03-31", (365, 0)),  # Q1 max follow-up
    _fu_row(2, "sepsis", "2012-05-01", "2012-05-02", "2012-05-31", (62, 0)),  # Q3 death, censored
    _fu_row(3, "sepsis", "2012-06-01", "2012-06-02", "2012-07-01", NAN),  # Q4 outcome in blanking
    _fu_row(4, "sepsis", "2013-11-01", "2013-11-02", "2013-12-01", (211, 0)),  # Q5 end of data
    _fu_row(5, "trauma", "2012-03-10", "2012-03-11", "2012-04-09", (335, 1)),  # Q6 outcome
    _fu_row(6, "trauma", "2012-07-07", "2012-07-08", "2012-08-06", (365, 0)),  # Q7 after max
    _fu_row(7, "trauma", "2012-09-15", "2012-09-16", "2012-10-15", (10, 0)),  # Q9 death
    _fu_row(8, "trauma", "2012-12-01", "2012-12-02", "2012-12-31", NAN),  # Q10 prevalent
]


def test_follow_up_anchor_offset_max_days_landmark(engine, fu_data):
    with pytest.warns(CohortWarning, match="outcome lung: group 'sepsis' has no outcome event"):
        cohort = build_cohort(load_study(fixtures.FU_STUDY), data=fu_data, engine=engine)
    pd.testing.assert_frame_equal(cohort.table, _frame(FU_ROWS))
    pd.testing.assert_frame_equal(
        cohort.attrition.drop(columns="description"),
        _attrition([(0, "entry", 5, 5, 0, 0), (1, "in_both", 5, 5, 0, 0),
                    (2, "landmark", 4, 4, 1, 1), (3, "under_follow_up", 4, 4, 0, 0)]),
    )
    assert any("group 'sepsis' has no outcome event" in n for n in cohort.notes)
