"""Red team, bad data: anomalies are said out loud on the console, and a strict run refuses them.

The data checks themselves (which anomaly is an error) belong to ``cohortstat.data.checks``; here a
run's handling of them: every anomaly printed through the progress callback (the console of the
command line), ``--strict`` or ``data_checks: {strict: true}`` stopping before the cohort is built.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.errors import DataCheckError
from cohortstat.run import run
from cohortstat.spec import load_study

from ._safety import STUDY, leftovers, synth

runner = CliRunner()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("bad_data") / "clean")


@pytest.fixture(scope="module")
def duplicated(clean, tmp_path_factory):
    """The clean data with one patient row written twice (an error of the data checks)."""
    folder = tmp_path_factory.mktemp("bad_data") / "duplicated"
    shutil.copytree(clean, folder)
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = pq.read_table(folder / "patients.parquet")
    pq.write_table(pa.concat_tables([p, p.slice(0, 1)]), folder / "patients.parquet")
    return folder


def test_a_strict_run_refuses_data_with_an_error(duplicated, tmp_path):
    steps = []
    with pytest.raises(DataCheckError, match="duplicate_patient_id") as info:
        run(STUDY, duplicated, tmp_path / "out", strict=True, progress=steps.append)
    assert "build cohort" not in steps
    assert any(s.startswith("data check ERROR: duplicate_patient_id") for s in steps)
    assert info.value.report is not None
    assert list(tmp_path.iterdir()) == []


def test_the_study_setting_makes_a_run_strict(duplicated, tmp_path):
    study = load_study(STUDY.read_text(encoding="utf-8") + "data_checks:\n  strict: true\n")
    with pytest.raises(DataCheckError):
        run(None, duplicated, tmp_path / "out", study=study)
    assert list(tmp_path.iterdir()) == []


def test_cli_strict_exits_2_and_no_strict_overrides_the_study(duplicated, tmp_path):
    result = runner.invoke(app, ["run", str(STUDY), "--data", str(duplicated), "--out", str(tmp_path / "o"),
                                 "--strict"])
    assert result.exit_code == 2
    assert "cohortstat: data check ERROR: duplicate_patient_id [patients]: 1 - " in result.stderr
    assert "failed 1 data check(s) with severity error" in result.stderr
    assert not (tmp_path / "o").exists() and leftovers(tmp_path) == []


def test_a_non_strict_run_prints_every_anomaly_but_keeps_it_out_of_run_log(duplicated, tmp_path):
    ids = set(pd.read_parquet(duplicated / "patients.parquet")["patient_id"].astype(str).iloc[:1])
    steps = []
    out = run(STUDY, duplicated, tmp_path / "out", progress=steps.append)
    printed = [s for s in steps if s.startswith("data check ")]
    assert printed == ["data check ERROR: duplicate_patient_id [patients]: 1 - a patient_id appears on more than"
                       " one row"]
    assert any("Pass --strict to refuse such data" in s for s in steps)
    assert not any(i in s for s in steps for i in ids)  # counts on the console, never patient ids
    log = (out / "run.log").read_text(encoding="utf-8")
    assert "duplicate_patient_id" not in log  # run.log is published: no small count in it


def test_clean_data_prints_no_anomaly_and_a_strict_run_goes_ahead(clean, tmp_path, monkeypatch):
    import sys

    from cohortstat.errors import ReportError

    def stop(*args, **kwargs):
        raise ReportError("stopped after the data checks")

    monkeypatch.setattr(sys.modules["cohortstat.run"], "_build", stop)
    steps = []
    with pytest.raises(ReportError, match="stopped after the data checks"):
        run(STUDY, clean, tmp_path / "out", strict=True, progress=steps.append)
    assert not [s for s in steps if s.startswith("data check ")]
    assert "build cohort" in steps
