"""Bad input gives a typed error naming what is wrong, on both engines."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from cohortstat.cohort import build_cohort
from cohortstat.errors import CohortError, DataSchemaError, EngineError
from cohortstat.spec import load_study
from tests.cohort import fixtures


@pytest.fixture
def broken(tmp_path, main_data):
    out = tmp_path / "data"
    shutil.copytree(main_data, out)
    return out


def test_missing_table(engine, broken):
    (broken / "stays.parquet").unlink()
    with pytest.raises(DataSchemaError, match="has no table 'stays'"):
        build_cohort(load_study(fixtures.main_study_text()), data=broken, engine=engine)


def test_missing_column(engine, broken):
    p = pd.read_parquet(broken / "patients.parquet").drop(columns="birth_year")
    p.to_parquet(broken / "patients.parquet", index=False)
    with pytest.raises(DataSchemaError, match=r"table 'patients' lacks column\(s\) birth_year"):
        build_cohort(load_study(fixtures.main_study_text()), data=broken, engine=engine)


def test_missing_role(engine, broken):
    d = pd.read_parquet(broken / "diagnoses.parquet")
    d = d[d["role"] != "related"]
    d.to_parquet(broken / "diagnoses.parquet", index=False)
    with pytest.raises(DataSchemaError,
                       match=r"no diagnosis with role 'related', used at cohorts\.sepsis\.entry"):
        build_cohort(load_study(fixtures.main_study_text()), data=broken, engine=engine)


def test_empty_cohort_names_the_step(engine, main_data):
    text = fixtures.main_study_text().replace("min_years: 18", "min_years: 99")
    with pytest.raises(CohortError, match=r"step 3 \(adult: Aged 18 or over\) left no patient in "
                                          r"group 'sepsis', 'trauma'"):
        build_cohort(load_study(text), data=main_data, engine=engine)


def test_no_entry_event_in_period(main_data):
    text = fixtures.main_study_text().replace("{start: 2012-01-01, end: 2013-12-31}",
                                              "{start: 2005-01-01, end: 2005-12-31}")
    text = text.replace("end_of_data: 2016-12-31", "end_of_data: 2006-12-31")
    with pytest.raises(CohortError, match=r"step 0 \(entry"):
        build_cohort(load_study(text), data=main_data)


def test_missing_folder_and_unknown_engine(tmp_path, main_data):
    study = load_study(fixtures.main_study_text())
    with pytest.raises(DataSchemaError, match="does not exist"):
        build_cohort(study, data=tmp_path / "nowhere")
    with pytest.raises(EngineError, match="unknown engine 'postgres'"):
        build_cohort(study, data=main_data, engine="postgres")
