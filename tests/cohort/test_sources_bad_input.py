"""Bad input of every layout is one located error (exit 2 on the command line), never a traceback,
and nothing is written."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.cohort import build_cohort
from cohortstat.data import synth
from cohortstat.errors import DataSchemaError
from cohortstat.sources import detect_source
from cohortstat.spec import load_study
from tests.cohort.test_sources import STUDY

N, SEED = 400, 5


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    return {lay: synth.generate(N, SEED, root / lay, layout=lay) for lay in ("pmsi", "snds", "omop")}


@pytest.fixture
def copy(clean, tmp_path):
    def make(layout):
        out = tmp_path / layout
        shutil.copytree(clean[layout], out)
        return out
    return make


def _rewrite(path, sql):
    con = duckdb.connect()
    tmp = path.with_suffix(".new.parquet")
    con.execute(f"COPY ({sql.format(t=f'read_parquet({str(path)!r})')}) TO '{tmp}' (FORMAT parquet)")
    con.close()
    tmp.replace(path)


def _run_fails(data, tmp_path, *match):
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["run", str(STUDY), "--data", str(data), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and not out.exists()
    for m in match:
        assert m in res.output, res.output
    return res.output


def test_missing_ir_ben_r(copy, tmp_path):
    data = copy("snds")
    (data / "IR_BEN_R.parquet").unlink()
    _run_fails(data, tmp_path, "no IR_BEN_R table")


def test_year_file_with_a_missing_column(copy, tmp_path):
    data = copy("snds")
    _rewrite(data / "T_MCO12B.parquet", "SELECT * EXCLUDE (DGN_PAL) FROM {t}")
    _run_fails(data, tmp_path, "T_MCO12B (T_MCO12B.parquet) lacks column(s) DGN_PAL")


def test_dates_in_an_unknown_format(copy, tmp_path):
    data = copy("snds")
    _rewrite(data / "T_MCO13C.parquet",
             "SELECT * REPLACE (strftime(EXE_SOI_DTD, '%Y/%m/%d') AS EXE_SOI_DTD) FROM {t}")
    _run_fails(data, tmp_path, "T_MCO13C", "EXE_SOI_DTD", "unknown or mixed format")


def test_missing_year_is_named(copy, tmp_path):
    data = copy("snds")
    for kind in ("B", "C", "D", "UM"):
        (data / f"T_MCO14{kind}.parquet").unlink()
    _run_fails(data, tmp_path, "lacks the PMSI-MCO year(s) 2014")


def test_omop_without_condition_occurrence(copy, tmp_path):
    data = copy("omop")
    (data / "condition_occurrence.parquet").unlink()
    _run_fails(data, tmp_path, "has no condition_occurrence table")


def test_corrupt_parquet(copy, tmp_path):
    data = copy("pmsi")
    raw = (data / "stays.parquet").read_bytes()
    (data / "stays.parquet").write_bytes(raw[: len(raw) // 2])
    _run_fails(data, tmp_path, "stays.parquet")
    res = CliRunner().invoke(app, ["check-data", str(data)])
    assert res.exit_code == 2 and "unreadable_table" in res.output


def test_mixed_and_unknown_folders(copy, tmp_path):
    data = copy("snds")
    shutil.copy(copy("pmsi") / "patients.parquet", data / "patients.parquet")
    with pytest.raises(DataSchemaError, match="mixes tables of several layouts: pmsi"):
        detect_source(data)
    _run_fails(data, tmp_path, "mixes tables of several layouts")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(DataSchemaError, match="cannot tell which data layout"):
        detect_source(empty)
    res = CliRunner().invoke(app, ["check-data", str(empty)])
    assert res.exit_code == 2 and "Expected one of" in res.output


def test_wrong_source_given(clean):
    with pytest.raises(DataSchemaError, match="OMOP folder .* has no person table"):
        build_cohort(load_study(STUDY), data=clean["snds"], source="omop")
    with pytest.raises(DataSchemaError, match="unknown data source 'cdm'"):
        build_cohort(load_study(STUDY), data=clean["snds"], source="cdm")


def test_check_data_cli_prints_the_detected_source(clean):
    res = CliRunner().invoke(app, ["check-data", str(clean["omop"])])
    assert res.exit_code == 0, res.output
    assert "data source: omop (detected" in res.output and "cleaning_icd10_dot" in res.output
