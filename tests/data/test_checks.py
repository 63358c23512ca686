"""Data checks: each named anomaly is produced by corrupting a small clean dataset."""

from __future__ import annotations

import dataclasses
import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.data import synth
from cohortstat.data.checks import CHECKS, check_data
from cohortstat.errors import DataCheckError


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return synth.generate(300, 8, tmp_path_factory.mktemp("clean"))


@pytest.fixture
def data(clean, tmp_path):
    """A writable copy of the clean dataset: (folder, read, write)."""
    for f in clean.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())

    def read(t):
        return pq.read_table(tmp_path / f"{t}.parquet")

    def write(t, table):
        pq.write_table(table, tmp_path / f"{t}.parquet")

    return tmp_path, read, write


def _set(table, col, i, value, typ=None):
    arr = table[col].to_pylist()
    arr[i] = value
    idx = table.schema.get_field_index(col)
    return table.set_column(idx, pa.field(col, typ or table.schema.field(col).type), pa.array(arr, typ or table.schema.field(col).type))


def test_clean_data_passes_every_check(clean):
    rep = check_data(clean)
    assert rep.ok and not rep.anomalies and not rep.has_schema_errors
    names = set(rep.to_frame()["name"])
    assert names == set(CHECKS) - {"missing_table", "unreadable_table", "missing_column", "wrong_type"}
    assert "no anomaly" in rep.to_text() and rep.errors == ()
    assert check_data(clean, strict=True).ok


def test_report_is_frozen_and_tabular(clean):
    rep = check_data(clean)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rep.rows = ()  # type: ignore[misc]
    df = rep.to_frame()
    assert list(df.columns) == ["name", "table", "count", "examples", "severity", "description"]
    assert json.loads(rep.to_json())["ok"] is True


def _corrupt(name, read, write):
    """Apply the corruption for check ``name``; return (table, expected count, an expected example)."""
    st = read("stays")
    sid0, pid0 = st["stay_id"][0].as_py(), st["patient_id"][0].as_py()
    if name == "discharge_before_admission":
        adm = st["admission_date"][0].as_py()
        write("stays", _set(st, "discharge_date", 0, adm.replace(year=adm.year - 1)))
        return "stays", 1, sid0
    if name in ("stay_after_death", "birth_after_admission"):
        pat = read("patients")
        i = pat["patient_id"].to_pylist().index(pid0)
        mine = st.filter(pc.equal(st["patient_id"], pid0))
        first = min(mine["admission_date"].to_pylist())
        if name == "stay_after_death":
            write("patients", _set(pat, "death_date", i, first.replace(year=first.year - 1)))
        else:
            last = max(mine["admission_date"].to_pylist())
            write("patients", _set(pat, "birth_year", i, last.year + 1))
        return "stays", mine.num_rows, sid0
    if name == "diagnosis_unknown_stay":
        write("diagnoses", _set(read("diagnoses"), "stay_id", 0, "SNOSUCHSTAY"))
        return "diagnoses", 1, "SNOSUCHSTAY"
    if name == "null_date":
        write("stays", _set(st, "discharge_date", 0, None))
        return "stays", 1, sid0
    if name == "stay_unknown_patient":
        write("stays", _set(st, "patient_id", 0, "PNOSUCHPATIENT"))
        return "stays", 1, sid0
    if name == "duplicate_patient_id":
        pat = read("patients")
        write("patients", pa.concat_tables([pat, pat.slice(0, 1)]))
        return "patients", 1, pat["patient_id"][0].as_py()
    if name == "duplicate_stay_id":
        write("stays", pa.concat_tables([st, st.slice(0, 1)]))
        return "stays", 1, sid0
    if name == "malformed_icd10_code":
        dg = read("diagnoses")
        write("diagnoses", _set(dg, "icd10_code", 0, "c34.1"))
        return "diagnoses", 1, dg["stay_id"][0].as_py()
    if name == "null_key":
        write("stays", _set(st, "stay_id", 0, None))
        return "stays", 1, "row 0"
    if name == "empty_table":
        write("diagnoses", read("diagnoses").slice(0, 0))
        return "diagnoses", 1, "diagnoses"
    if name == "invalid_sex":
        pat = read("patients")
        write("patients", _set(pat, "sex", 0, 3))
        return "patients", 1, pat["patient_id"][0].as_py()
    if name == "invalid_role":
        dg = read("diagnoses")
        write("diagnoses", _set(dg, "role", 0, "DP"))
        return "diagnoses", 1, dg["stay_id"][0].as_py()
    if name == "invalid_discharge_mode":
        write("stays", _set(st, "discharge_mode", 0, "deceased"))
        return "stays", 1, sid0
    if name == "missing_column":
        write("stays", st.drop_columns(["discharge_mode"]))
        return "stays", 1, "discharge_mode"
    if name == "wrong_type":
        write("stays", st.set_column(2, "admission_date", pc.cast(st["admission_date"], pa.string())))
        return "stays", 1, "admission_date: VARCHAR (expected date32[day])"
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(set(CHECKS) - {"missing_table", "unreadable_table"}))
def test_each_anomaly_is_reported_by_name(data, name):
    folder, read, write = data
    table, expected, example = _corrupt(name, read, write)
    rep = check_data(folder)
    assert not rep.ok
    assert rep.count(name, table) == expected
    row = next(r for r in rep.anomalies if r.name == name and r.table == table)
    assert example in row.examples and len(row.examples) <= 5
    assert row.severity == CHECKS[name][1]
    with pytest.raises(DataCheckError, match=name) as err:
        check_data(folder, strict=True)
    assert err.value.report.count(name, table) == expected


def test_missing_table(data):
    folder, _, _ = data
    (folder / "diagnoses.parquet").unlink()
    rep = check_data(folder)
    assert rep.count("missing_table", "diagnoses") == 1 and rep.has_schema_errors
    assert rep.count("diagnosis_unknown_stay") == 0  # checks needing the table are skipped
    res = CliRunner().invoke(app, ["check-data", str(folder)])
    assert res.exit_code == 2 and "missing_table" in res.output


def test_strict_lists_every_anomaly_in_one_error(data):
    folder, read, write = data
    for name in ("discharge_before_admission", "invalid_sex", "invalid_role"):
        _corrupt(name, read, write)
    with pytest.raises(DataCheckError) as err:
        check_data(folder, strict=True)
    msg = str(err.value)
    assert all(n in msg for n in ("discharge_before_admission", "invalid_sex", "invalid_role"))
    assert "failed 3 check(s)" in msg
    assert len(err.value.report.anomalies) == 3


def test_cli_exit_codes(clean, data):
    runner = CliRunner()
    ok = runner.invoke(app, ["check-data", str(clean), "--strict"])
    assert ok.exit_code == 0 and "no anomaly" in ok.output
    folder, read, write = data
    _corrupt("invalid_sex", read, write)
    # an ERROR exits non-zero even without --strict
    lenient = runner.invoke(app, ["check-data", str(folder)])
    assert lenient.exit_code == 2 and "ERROR   invalid_sex" in lenient.output
    strict = runner.invoke(app, ["check-data", str(folder), "--strict", "--json"])
    assert strict.exit_code == 2
    doc = json.loads(strict.output)
    assert doc["ok"] is False
    assert [c["count"] for c in doc["checks"] if c["name"] == "invalid_sex"] == [1]


def test_duplicate_patient_does_not_multiply_stay_counts(data):
    folder, read, write = data
    _corrupt("duplicate_patient_id", read, write)
    table, expected, example = _corrupt("stay_after_death", read, write)
    rep = check_data(folder)
    assert rep.count("duplicate_patient_id") == 1
    assert rep.count("stay_after_death") == expected


def test_warnings_alone_exit_zero_and_strict_refuses_them(data):
    folder, read, write = data
    _corrupt("invalid_discharge_mode", read, write)
    rep = check_data(folder)
    assert rep.anomalies and not rep.errors
    runner = CliRunner()
    assert runner.invoke(app, ["check-data", str(folder)]).exit_code == 0
    assert runner.invoke(app, ["check-data", str(folder), "--strict"]).exit_code == 2


@pytest.mark.parametrize("name, value", [("invalid_sex", 9), ("invalid_sex", None)])
def test_issue_classes_are_errors(data, name, value):
    folder, read, write = data
    write("patients", _set(read("patients"), "sex", 0, value))
    rep = check_data(folder)
    assert [r.name for r in rep.errors] == [name] and rep.errors[0].severity == "error"


def test_errors_property_lists_duplicates_and_malformed_codes(data):
    folder, read, write = data
    _corrupt("duplicate_patient_id", read, write)
    d = read("diagnoses")
    write("diagnoses", _set(_set(d, "icd10_code", 0, "R57.2"), "icd10_code", 1, "a419"))
    rep = check_data(folder)
    names = {r.name for r in rep.errors}
    assert {"duplicate_patient_id", "malformed_icd10_code"} <= names
    assert rep.count("malformed_icd10_code") == 2
    assert all(r.count > 0 and r.severity == "error" for r in rep.errors)
    assert list(rep.to_frame().columns) == ["name", "table", "count", "examples", "severity", "description"]


def test_end_of_data_past_the_data_is_an_error(clean):
    from cohortstat.spec import load_study
    from tests.cohort.conftest import STUDY

    text = STUDY.read_text()
    ok = check_data(clean, study=load_study(text))
    assert ok.count("end_of_data_after_data") == 0 and ok.count("missing_study_year") == 0
    late = check_data(clean, study=load_study(text.replace("end_of_data: 2017-12-31", "end_of_data: 2021-12-31")))
    assert late.count("end_of_data_after_data") == 1
    assert late.count("missing_study_year") == 4  # 2018-2021 have no stay
    assert {"end_of_data_after_data", "missing_study_year"} <= {r.name for r in late.errors}


def test_unreadable_parquet_is_named(data):
    folder, _, _ = data
    raw = (folder / "patients.parquet").read_bytes()
    (folder / "patients.parquet").write_bytes(raw[:40])
    rep = check_data(folder)
    assert rep.count("unreadable_table", "patients") == 1 and rep.has_schema_errors
    assert "patients.parquet" in rep.errors[0].examples[0]
