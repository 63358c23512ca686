import json

import pytest
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.spec import load_lock, load_study, spec_hash

from .conftest import SHIPPED
from .test_bad_studies import BAD_FILES, expectations

runner = CliRunner()
HASH = spec_hash(load_study(SHIPPED))


def test_validate_prints_the_resolved_study_and_hash():
    result = runner.invoke(app, ["validate", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith(f"spec_hash: {HASH}")
    resolved = json.loads(result.stdout[: result.stdout.rindex("spec_hash:")])
    assert resolved["concept_sets"]["lung_cancer"]["include"] == ["C33", "C34"]
    assert resolved["analyses"]["confounding"]["method"] == "none"


def test_validate_quiet_prints_only_the_hash():
    result = runner.invoke(app, ["validate", "--quiet", str(SHIPPED)])
    assert result.exit_code == 0
    assert result.stdout == f"spec_hash: {HASH}\n"


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_validate_bad_file_exits_2_with_located_messages(path):
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: the study file has")
    for loc, msg in expectations(path):
        assert f"{loc}: " in result.stderr and msg in result.stderr


def test_validate_missing_file():
    result = runner.invoke(app, ["validate", "no/such/study.yaml"])
    assert result.exit_code == 2
    assert "no/such/study.yaml: no such file" in result.stderr


def test_freeze_writes_the_lock(tmp_path):
    result = runner.invoke(app, ["freeze", str(SHIPPED), "--out", str(tmp_path / "frozen")])
    assert result.exit_code == 0, result.output
    assert f"spec_hash: {HASH}" in result.stdout
    assert load_lock(tmp_path / "frozen") == load_study(SHIPPED)


def test_freeze_bad_file_exits_2(tmp_path):
    result = runner.invoke(app, ["freeze", str(BAD_FILES[0]), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "error: the study file has" in result.stderr
    assert not (tmp_path / "x").exists()


def test_freeze_unwritable_destination_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["freeze", str(SHIPPED), "--out", str(blocker / "sub")])
    assert result.exit_code == 2
    assert "error: cannot write to" in result.stderr


def test_console_entry_point_prints_errors_without_traceback():
    import os
    import subprocess
    import sys

    from .conftest import BAD_DIR, ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cohortstat", "validate", str(BAD_DIR / "yaml_bomb.yaml")]
    bad = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode == 2
    assert "YAML aliases (*name) are not allowed" in bad.stderr and "Traceback" not in bad.stderr
    good = subprocess.run(cmd[:4] + ["-q", str(SHIPPED)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert good.returncode == 0 and good.stdout == f"spec_hash: {HASH}\n"
