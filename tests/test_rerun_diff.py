"""The reviewer's view of a rerun (cohortstat.rerun_diff) on a crafted pair of results.json documents."""

from __future__ import annotations

import copy

from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.rerun_diff import compare, render, version_drift
from cohortstat.run import RerunReport

OLD = {
    "engine": "duckdb",
    "provenance": {"engine": "duckdb"},
    "title": "t",
    "table_one": [{"variable": "Sex", "level": "male", "kind": "categorical", "n_a": 120, "pct_a": 60.0}],
    "outcomes": {
        "lung": {
            "label": "Lung cancer",
            "models": [
                {"model": "cox_adjusted", "term": "exposure", "hr": 0.5, "ci_lower": 0.4, "ci_upper": 0.7},
                {"model": "cox_adjusted", "term": "age", "hr": 1.02, "ci_lower": 1.01, "ci_upper": 1.03},
                {"model": "fg_crude", "term": "exposure", "hr": 0.8, "ci_lower": 0.6, "ci_upper": 1.1},
            ],
            "rates": [{"group": "a", "events": 40, "rate": 7.0}],
        },
    },
}


def _changed():
    new = copy.deepcopy(OLD)
    lung = new["outcomes"]["lung"]
    lung["models"][0]["hr"] = 0.55  # +10%
    lung["models"][2]["ci_upper"] = 1.1 * (1 + 1e-13)  # float noise: not a difference
    lung["rates"][0]["events"] = 41
    new["table_one"][0]["n_a"] = 121
    new["engine"] = "spark"
    new["provenance"] = {"engine": "spark"}
    return new


def test_differences_are_named_by_outcome_model_term_and_statistic():
    diffs = compare(OLD, _changed())
    lines = {d.line() for d in diffs}
    assert "Cox, adjusted / exposure / hr: 0.5 -> 0.55 (+10.00%)" in lines
    assert "incidence / a / events: 40 -> 41 (+2.50%)" in lines
    assert "Sex / male / n_a: 120 -> 121 (+0.83%)" in lines
    assert len(diffs) == 3
    assert {(d.section, d.outcome) for d in diffs} == {("Outcomes", "Lung cancer"), ("Table 1", "")}
    assert not any("[" in line or "." in line.split(":")[0] for line in lines)  # no JSON paths


def test_render_groups_and_summarises():
    text = render(compare(OLD, _changed()), drift=["numpy 2.4.6 -> 2.5.0"])
    lines = text.splitlines()
    assert lines[0] == "Version drift between the lock and this environment: numpy 2.4.6 -> 2.5.0"
    assert lines[1] == ("3 difference(s) between the original and the rerun in 2 group(s): 3 changed number(s), "
                        "largest relative change +10.00%")
    assert "Outcomes: Lung cancer (2)" in lines and "Table 1 (1)" in lines
    assert "  Cox, adjusted / exposure / hr: 0.5 -> 0.55 (+10.00%)" in lines


def test_another_engine_with_the_same_numbers_is_identical():
    new = copy.deepcopy(OLD)
    new["engine"], new["provenance"] = "spark", {"engine": "spark"}
    assert compare(OLD, new) == []
    assert render([]).startswith("identical")
    report = RerunReport(out="x.rerun", differences=[], diffs=[], drift=[])
    assert report.exit_code == 0 and report.text().startswith("identical")


def test_missing_and_new_items_are_reported():
    new = copy.deepcopy(OLD)
    del new["outcomes"]["lung"]["models"][1]
    new["outcomes"]["skin"] = {"label": "Skin cancer", "models": []}
    lines = [d.line() for d in compare(OLD, new)]
    assert "Cox, adjusted / age / row: (5 items) -> (absent)" in lines
    assert len(lines) == 2  # the rows after the removed one are matched by name, not shifted
    assert "outcome: (absent) -> (2 items)" in lines


def test_version_drift_lists_changed_packages_only():
    assert version_drift({"numpy": "2.4.6", "scipy": "1.17.1"}, {"numpy": "2.5.0", "scipy": "1.17.1"}) == [
        "numpy 2.4.6 -> 2.5.0"]
    assert version_drift({"numpy": "1"}, {"numpy": "1", "openpyxl": "3.1.5"}) == ["openpyxl (absent) -> 3.1.5"]


def test_rerun_refuses_an_unknown_engine(tmp_path):
    result = CliRunner().invoke(app, ["rerun", str(tmp_path), "--data", str(tmp_path), "--engine", "sqlite"])
    assert result.exit_code == 2
    assert "--engine must be duckdb or spark" in result.output


def test_a_field_new_in_many_rows_is_one_line_and_long_groups_are_cut():
    old = {"table_one": [{"variable": f"v{i}", "level": "yes", "n_a": i} for i in range(40)]}
    new = {"table_one": [{"variable": f"v{i}", "level": "yes", "n_a": i + 1, "label": f"V{i}"} for i in range(40)]}
    text = render(compare(old, new), limit=10)
    lines = text.splitlines()
    assert "  field 'label' new in the rerun (40 row(s))" in lines
    assert lines[-1] == "  ... and 31 more"
    assert len(lines) == 2 + 10 + 1
