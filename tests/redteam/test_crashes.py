"""Red team, crashes: hostile files where cohortstat expects a study, a lock, results or parquet data.

Each ends in a clear, typed error naming the file (exit 2 on the command line, no traceback), never
in a hang, a memory blow-up or a traceback.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.errors import SpecError
from cohortstat.spec import load_study

from ._safety import STUDY, fake_report, synth

runner = CliRunner()


def _errors(source) -> dict:
    with pytest.raises(SpecError) as info:
        load_study(source)
    return dict(info.value.errors)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("crashes") / "data")


def test_dev_zero_as_a_study_file_is_a_clear_error():
    result = runner.invoke(app, ["validate", "/dev/zero"])
    assert result.exit_code == 2
    assert "/dev/zero: the file is larger than 1000000 bytes" in result.stderr


def test_a_binary_file_as_a_study_file_is_a_clear_error(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_bytes(b"spec_version: 1\n\x00\x01\x02binary")
    assert "binary file" in _errors(path)[str(path)]


def test_a_huge_file_is_refused_without_reading_it_whole(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * 2_000_000 + "\n")
    assert "larger than" in _errors(path)[str(path)]


@pytest.mark.parametrize("broken", ["results.json", "study.lock.json"])
def test_rerun_of_a_non_json_results_or_lock_is_a_clear_error(broken, data, tmp_path):
    out = fake_report(tmp_path / "out", data)
    (out / broken).write_bytes(b"\x89PNG not json")
    result = runner.invoke(app, ["rerun", str(out), "--data", str(data)])
    assert result.exit_code == 2
    assert f"{broken} is not valid JSON" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out.rerun").exists()


def test_a_corrupt_parquet_file_is_a_clear_error(data, tmp_path):
    import shutil

    local = tmp_path / "data"
    shutil.copytree(data, local)
    (local / "stays.parquet").write_bytes(b"PAR1 garbage")
    result = runner.invoke(app, ["run", str(STUDY), "--data", str(local), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "stays.parquet" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_a_lock_that_never_ends_or_nests_too_deeply_is_a_clear_error(tmp_path):
    from cohortstat.spec import load_lock

    with pytest.raises(SpecError, match="larger than"):
        load_lock("/dev/zero")
    deep = tmp_path / "study.lock.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SpecError, match="nested too deeply|not a readable JSON"):
        load_lock(deep)


def test_rerun_of_deeply_nested_results_is_a_clear_error(data, tmp_path):
    out = fake_report(tmp_path / "out", data)
    (out / "results.json").write_text("[" * 100_000 + "]" * 100_000)
    result = runner.invoke(app, ["rerun", str(out), "--data", str(data)])
    assert result.exit_code == 2 and "results.json is not valid JSON" in result.stderr
