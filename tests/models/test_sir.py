"""SIR: hand-solved person-time splits, then R (two survSplit calls + poisson.test)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.sir import poisson_exact, standardized_incidence_ratio

REF = Path(__file__).resolve().parents[1] / "reference" / "sir_lexis"
EXP = json.loads((REF / "expected.json").read_text())
COHORT = pd.read_csv(REF / "input_cohort.csv", parse_dates=["entry_date"])
RATES = pd.read_csv(REF / "input_rates.csv")

BANDS = pd.DataFrame({"age_start": [0, 50, 0, 50], "age_end": [50, np.inf, 50, np.inf], "sex": ["F", "F", "M", "M"],
                      "rate": [0.01, 0.04, 0.02, 0.08]})


def test_hand_solved_age_split():
    # one woman aged 49.5 followed 2 years (730.5 days): 0.5 y at 0.01 then 1.5 y at 0.04 -> E = 0.065
    d = pd.DataFrame({"t": [730.5], "e": [1], "age": [49.5], "sex": ["F"]})
    r = standardized_incidence_ratio(d, "t", "e", BANDS, age="age", sex="sex")
    assert r.table["expected"].iloc[0] == pytest.approx(0.065, rel=1e-12)
    assert r.table["observed"].iloc[0] == 1 and r.table["person_years"].iloc[0] == pytest.approx(2.0)
    s = r.strata
    assert s["person_years"].tolist() == pytest.approx([0.5, 1.5])
    assert s["observed"].tolist() == [0, 1]  # the event falls in the band where it happens


def test_hand_solved_calendar_split():
    # entry 2015-12-01, 62 days: 31 days in 2015 at 0.365/y, 31 days in 2016 at 0.73/y
    rates = pd.DataFrame({"age_start": [0, 0], "age_end": [np.inf, np.inf], "sex": [1, 1], "year": [2015, 2016],
                          "rate": [36.5, 73.0]})
    d = pd.DataFrame({"t": [62], "e": [0], "age": [30.0], "sex": [1], "start": pd.to_datetime(["2015-12-01"])})
    r = standardized_incidence_ratio(d, "t", "e", rates, age="age", sex="sex", entry_date="start", rate_per=100)
    assert r.table["expected"].iloc[0] == pytest.approx((31 * 0.365 + 31 * 0.73) / 365.25, rel=1e-12)
    assert r.strata["year"].tolist() == [2015, 2016]


@pytest.mark.parametrize("case", EXP["poisson_test"])
def test_poisson_exact_equals_poisson_test(case):
    lo, hi, p = poisson_exact(int(case["x"]), case["T"])
    assert lo == pytest.approx(case["lower"], rel=1e-9, abs=1e-15)
    assert hi == pytest.approx(case["upper"], rel=1e-9)
    assert p == pytest.approx(case["p"], rel=1e-9)


def test_sir_equals_r_lexis_split():
    r = standardized_incidence_ratio(COHORT, "time", "event", RATES, age="age", sex="sex", entry_date="entry_date",
                                     group="group", rate_per=EXP["rate_per"])
    for exp, (_, got) in zip(EXP["groups"], r.table.iterrows()):
        assert got["group"] == exp["group"] and got["observed"] == exp["observed"]
        for k in ("expected", "sir", "ci_lower", "ci_upper", "p", "person_years"):
            assert got[k] == pytest.approx(exp[k], rel=1e-9), k
    assert r.strata["expected"].sum() == pytest.approx(sum(g["expected"] for g in EXP["groups"]), rel=1e-9)


def test_chunking_does_not_change_results(monkeypatch):
    import cohortstat.models.sir as S
    full = standardized_incidence_ratio(COHORT, "time", "event", RATES, age="age", sex="sex",
                                        entry_date="entry_date", rate_per=1e5)
    monkeypatch.setattr(S, "CHUNK", 37)
    small = standardized_incidence_ratio(COHORT, "time", "event", RATES, age="age", sex="sex",
                                         entry_date="entry_date", rate_per=1e5)
    assert small.table["expected"].iloc[0] == pytest.approx(full.table["expected"].iloc[0], rel=1e-12)


def test_missing_stratum_is_named():
    rates = RATES[~((RATES.age_start == 60) & (RATES.sex == 2) & (RATES.year == 2013))]
    with pytest.raises(ModelInputError, match=r"no rate for age \[60, 70\) sex 2 year 2013"):
        standardized_incidence_ratio(COHORT, "time", "event", rates, age="age", sex="sex", entry_date="entry_date")
    young = COHORT.assign(age=COHORT["age"] - 10)
    with pytest.raises(ModelInputError, match="no age band for age 3"):
        standardized_incidence_ratio(young, "time", "event", RATES, age="age", sex="sex", entry_date="entry_date")


def test_bad_rates():
    with pytest.raises(ModelInputError, match="overlap"):
        standardized_incidence_ratio(COHORT, "time", "event", BANDS.assign(age_start=[0, 40, 0, 40]),
                                     age="age", sex="sex")
    with pytest.raises(ModelInputError, match="two rates"):
        standardized_incidence_ratio(COHORT, "time", "event", pd.concat([BANDS, BANDS.iloc[:1]]), age="age", sex="sex")
    with pytest.raises(ModelInputError, match="entry_date"):
        standardized_incidence_ratio(COHORT, "time", "event", RATES, age="age", sex="sex")
    with pytest.raises(ModelInputError, match="lack column"):
        standardized_incidence_ratio(COHORT, "time", "event", RATES.drop(columns="rate"), age="age", sex="sex")


def test_float_years_and_string_sex_codes():
    rates = RATES.assign(year=RATES["year"].astype(float), sex=RATES["sex"].map({1: "M", 2: "F"}))
    cohort = COHORT.assign(sex=COHORT["sex"].map({1: "M", 2: "F"}))
    r = standardized_incidence_ratio(cohort, "time", "event", rates, age="age", sex="sex", entry_date="entry_date",
                                     group="group", rate_per=EXP["rate_per"])
    assert r.table["expected"].tolist() == pytest.approx([g["expected"] for g in EXP["groups"]], rel=1e-9)
    with pytest.raises(ModelInputError, match="whole calendar years"):
        standardized_incidence_ratio(cohort, "time", "event", rates.assign(year=rates["year"] + 0.5), age="age",
                                     sex="sex", entry_date="entry_date")


def test_check_reference_rates_before_reading_data():
    from cohortstat.models.sir import check_reference_rates

    check_reference_rates(RATES, ages=(40, 100), sexes=[1, 2], years=(2010, 2025))
    gap = RATES[RATES.age_start != 60]
    with pytest.raises(ModelInputError, match=r"no age band for ages \[60, 70\)"):
        check_reference_rates(gap)
    with pytest.raises(ModelInputError, match=r"cover \[40, inf\) but the study reaches ages \[18, 100\)"):
        check_reference_rates(RATES, ages=(18, 100))
    hole = RATES[~((RATES.age_start == 50) & (RATES.sex == 1) & (RATES.year == 2012))]
    with pytest.raises(ModelInputError, match=r"no rate for age \[50, 60\) sex 1 year 2012"):
        check_reference_rates(hole)
    with pytest.raises(ModelInputError, match="year 2026"):
        check_reference_rates(RATES, years=(2010, 2026))
    with pytest.raises(ModelInputError, match="sex 3"):
        check_reference_rates(RATES, sexes=[1, 2, 3])
