"""Red team, validation: hostile or careless study files, locks, results and thresholds.

Each case ends in a located, typed error (exit 2 on the command line, no traceback), never in a crash
later in the run or in a silently wrong number.
"""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.errors import ReportError, SpecError
from cohortstat.spec import load_study

from ._safety import STUDY, fake_report, synth

runner = CliRunner()


def _doc() -> dict:
    return yaml.safe_load(STUDY.read_text(encoding="utf-8"))


def _errors(source) -> dict:
    with pytest.raises(SpecError) as info:
        load_study(source)
    return dict(info.value.errors)


def _with_line(old: str, new: str) -> str:
    text = STUDY.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("validation") / "data")


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "OFF", "y"])
def test_yaml_11_booleans_are_refused(word):
    errors = _errors(_with_line("  age: true", f"  age: {word}"))
    assert errors["covariates.age"].startswith("input should be a valid boolean: true or false")


def test_true_and_false_are_booleans():
    study = load_study(_with_line("  age: true", "  age: false"))
    assert study.covariates.age is False


@pytest.mark.parametrize("date", ["2017-02-30", "2017-13-01", "2017-00-10"])
def test_an_impossible_calendar_date_is_located(date):
    errors = _errors(_with_line("end_of_data: 2017-12-31", f"end_of_data: {date}"))
    (loc, msg), = errors.items()
    assert loc.startswith("line ") and "invalid calendar date" in msg and date in msg


@pytest.mark.parametrize("value", ["1e26", "1.0e+26", "100000000000000000000000000", "9223372036854775000"])
def test_huge_lookback_days_is_bounded_with_a_location(value):
    doc = _doc()
    doc["inclusion"][1]["lookback_days"] = yaml.safe_load(value)
    errors = _errors(doc)
    assert list(errors) == ["inclusion.1.lookback_days"]


@pytest.mark.parametrize("value", [2**63 - 1, 2**62, 73051])
def test_max_days_near_int64_max_is_bounded(value):
    doc = _doc()
    doc["follow_up"]["max_days"] = value
    assert "less than or equal to 73050" in _errors(doc)["follow_up.max_days"]


def test_outcome_equal_to_the_exposure_concept_set_is_refused():
    doc = _doc()
    entry = doc["cohorts"][doc["comparison"]["exposed"]]["entry"]["concept_sets"][0]
    doc["outcomes"]["lung"]["concept_set"] = entry
    msg = _errors(doc)["outcomes.lung.concept_set"]
    assert "entry concept set of the exposed cohort" in msg and "nobody is at risk" in msg


def test_outcome_with_the_same_codes_as_the_reference_entry_set_is_refused():
    doc = _doc()
    ref = doc["cohorts"][doc["comparison"]["reference"]]["entry"]["concept_sets"][0]
    doc["concept_sets"]["copy"] = {"include": list(reversed(doc["concept_sets"][ref]["include"])),
                                   "exclude": doc["concept_sets"][ref].get("exclude", [])}
    doc["outcomes"]["lung"]["concept_set"] = "copy"
    msg = _errors(doc)["outcomes.lung.concept_set"]
    assert f"has the same codes as {ref!r}" in msg and "reference cohort" in msg


def test_validate_refuses_a_flag_named_like_an_internal_column(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(_with_line("  - name: tobacco", "  - name: death"), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "covariates.flags.0.name: 'death' is a fixed column" in result.stderr


def test_a_lock_edited_to_min_cell_count_1_cannot_lower_the_threshold(data, tmp_path):
    from cohortstat.run import rerun

    out = fake_report(tmp_path / "out", data, lock_min_cell_count=1, results_min_cell_count=10)
    with pytest.raises(ReportError, match=r"below the frozen run's minimum cell count \(10\)"):
        rerun(out, data, min_cell_count=5, allow_small_cells=True)
    out2 = fake_report(tmp_path / "out2", data, lock_min_cell_count=1, results_min_cell_count=1)
    with pytest.raises(ReportError, match="--allow-small-cells"):
        rerun(out2, data)


def test_rerun_uses_the_larger_frozen_threshold_and_may_raise_it(data, tmp_path, monkeypatch):
    import sys

    from cohortstat.run import rerun

    seen = {}

    def fake_run(study_path, data, out, **kwargs):
        seen.update(kwargs)
        raise ReportError("stop here")

    monkeypatch.setattr(sys.modules["cohortstat.run"], "run", fake_run)
    out = fake_report(tmp_path / "out", data, lock_min_cell_count=1, results_min_cell_count=10)
    with pytest.raises(ReportError, match="stop here"):
        rerun(out, data)
    assert seen["min_cell_count"] == 10
    with pytest.raises(ReportError, match="stop here"):
        rerun(out, data, min_cell_count=20)
    assert seen["min_cell_count"] == 20


def test_a_non_integer_threshold_in_a_lock_is_refused(data, tmp_path):
    from cohortstat.run import rerun

    out = fake_report(tmp_path / "out", data)
    lock = json.loads((out / "study.lock.json").read_text())
    lock["min_cell_count"] = "1"
    (out / "study.lock.json").write_text(json.dumps(lock))
    with pytest.raises(ReportError, match="not a whole number"):
        rerun(out, data)


@pytest.mark.parametrize("args", [["--min-cell-count", "5"], ["--min-cell-count", "0"]])
def test_cli_refuses_a_threshold_below_10_without_the_override(args, data, tmp_path):
    result = runner.invoke(app, ["run", str(STUDY), "--data", str(data), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert "min_cell_count" in result.stderr or "--min-cell-count" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_profile_cannot_lower_the_threshold_without_the_override(data, tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text("min_cell_count: 3\n")
    result = runner.invoke(app, ["run", str(STUDY), "--data", str(data), "--out", str(tmp_path / "o"),
                                 "--profile", str(profile)])
    assert result.exit_code == 2 and "--allow-small-cells" in result.stderr


def test_a_bad_profile_is_a_located_error(data, tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text("threads: lots\n")
    result = runner.invoke(app, ["run", str(STUDY), "--data", str(data), "--out", str(tmp_path / "o"),
                                 "--profile", str(profile)])
    assert result.exit_code == 2 and "threads: input should be a valid integer" in result.stderr
