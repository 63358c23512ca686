"""Death-file linkage, per-person end of data (OMOP observation_period), and data the builder
refuses with a named error (empty tables, codes not written as PMSI stores them)."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from cohortstat.cohort import build_cohort
from cohortstat.data.checks import check_data
from cohortstat.errors import DataSchemaError
from cohortstat.spec import load_study
from tests.cohort.conftest import STUDY


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def _sql(sql):
    con = duckdb.connect()
    try:
        con.execute(sql)
    finally:
        con.close()


@pytest.fixture(scope="module")
def with_deaths(layouts, tmp_path_factory):
    """The pmsi layout plus a death file: every patient alive in the data dies on 2017-12-30 (INSEE);
    one patient also has a death-file date before his stays; one row names an unknown patient."""
    data = _copy(layouts["pmsi"], tmp_path_factory.mktemp("deaths") / "pmsi")
    p = f"read_parquet('{data / 'patients.parquet'}')"
    _sql(f"""COPY (
        SELECT patient_id, DATE '2017-12-30' AS death_date, 'INSEE' AS source FROM {p} WHERE death_date IS NULL
        UNION ALL SELECT min(patient_id), DATE '2000-01-01', 'INSEE' FROM {p} WHERE death_date IS NULL
        UNION ALL SELECT 'Pnobody', DATE '2015-01-01', 'INSEE'
        ) TO '{data / 'deaths.parquet'}' (FORMAT parquet)""")
    return data


def test_death_file_deaths_are_competing_events(with_deaths, reference, study):
    c = build_cohort(study, data=with_deaths)
    ev = reference.table["event_all_cancers"]
    assert (ev == 0).sum() > 100
    new = c.table["event_all_cancers"]
    rejected = next(n for n in c.notes if n.startswith("death file:"))
    n_rejected = int(rejected.split()[2])
    # nobody stays censored at the end of data unless his death-file date was not credible (a stay
    # admitted after it): each credible death-file death (2017-12-30) comes first
    assert 1 <= n_rejected < 10
    assert (new == 0).sum() <= n_rejected - 1 and (new == 2).sum() > (ev == 2).sum()
    died = c.table[new == 2]
    last = (pd.Timestamp("2017-12-30") - died["follow_up_start"]).dt.days
    assert (died["time_all_cancers"] <= last).all()
    note = next(n for n in c.notes if n.startswith("deaths by source"))
    assert "by the death file only" in note



def test_death_file_checks(with_deaths):
    rep = check_data(with_deaths)
    assert 1 <= rep.count("death_file_before_stay") < 10
    assert rep.count("death_file_unknown_patient") == 1
    assert rep.count("death_file_unknown_patient") and not rep.errors  # warnings only


def test_observation_period_end_is_a_per_person_end_of_data(layouts, tmp_path, study):
    data = _copy(layouts["omop"], tmp_path / "omop")
    path = data / "observation_period.parquet"
    _sql(f"""COPY (SELECT * REPLACE (DATE '2016-12-31' AS observation_period_end_date)
        FROM read_parquet('{path}')) TO '{tmp_path / 'op.parquet'}' (FORMAT parquet)""")
    shutil.move(tmp_path / "op.parquet", path)
    shorter = load_study(STUDY.read_text().replace("end_of_data: 2017-12-31", "end_of_data: 2016-12-31"))
    expected = build_cohort(shorter, data=layouts["pmsi"])
    got = build_cohort(study, data=data)
    pd.testing.assert_frame_equal(expected.table, got.table)
    pd.testing.assert_frame_equal(expected.attrition, got.attrition)


def test_empty_patients_table_is_named(layouts, tmp_path, study):
    data = _copy(layouts["pmsi"], tmp_path / "pmsi")
    path = data / "patients.parquet"
    _sql(f"COPY (SELECT * FROM read_parquet('{path}') LIMIT 0) TO '{tmp_path / 'p.parquet'}' (FORMAT parquet)")
    shutil.move(tmp_path / "p.parquet", path)
    with pytest.raises(DataSchemaError, match="the patients of the data in .* are empty"):
        build_cohort(study, data=data)


@pytest.mark.parametrize("rewrite, example", [
    ("lower(icd10_code)", "'a"),
    ("CASE WHEN length(icd10_code) > 3 THEN substr(icd10_code, 1, 3) || '.' || substr(icd10_code, 4) "
     "ELSE icd10_code || '.' END", "."),
])
def test_codes_not_as_pmsi_stores_them_are_named(layouts, tmp_path, study, rewrite, example):
    data = _copy(layouts["pmsi"], tmp_path / "pmsi")
    path = data / "diagnoses.parquet"
    _sql(f"COPY (SELECT * REPLACE ({rewrite} AS icd10_code) FROM read_parquet('{path}')) "
         f"TO '{tmp_path / 'd.parquet'}' (FORMAT parquet)")
    shutil.move(tmp_path / "d.parquet", path)
    with pytest.raises(DataSchemaError, match="codes must be upper case without dot") as err:
        build_cohort(study, data=data)
    assert example in str(err.value)
    rep = check_data(data)
    assert rep.count("malformed_icd10_code") > 0 and "malformed_icd10_code" in {r.name for r in rep.errors}
