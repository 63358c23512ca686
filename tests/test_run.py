"""End to end: synthetic data -> run -> report folder; disclosure scan; rerun; interrupted runs.

One 20 k patient dataset and one run are shared by the module (about a minute in all).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.errors import DataSchemaError, ReportError, RerunMismatchError
from cohortstat.report.suppression import scan_outputs
from cohortstat.run import compare_results, data_fingerprint, rerun, run
from tests.core_study import core_study_path

STUDY = core_study_path()


@pytest.fixture(scope="module")
def data20k(tmp_path_factory):
    from cohortstat.data.synth import generate

    return generate(20_000, 7, tmp_path_factory.mktemp("d20k") / "data")


@pytest.fixture(scope="module")
def report(data20k, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    messages = []
    run(STUDY, data20k, out, progress=messages.append)
    assert "build cohort" in messages and "write report" in messages
    return out


def test_report_folder_holds_every_output(report):
    names = {str(p.relative_to(report)) for p in report.rglob("*") if p.is_file()}
    for required in ("report.html", "results.json", "attrition.csv", "study.lock.json", "run.log",
                     "tables/table1.csv", "tables/incidence.csv", "tables/hazard_ratios.csv", "tables/ph_test.csv",
                     "figures/attrition.svg", "figures/forest.svg", "figures/cif_lung.svg"):
        assert required in names, required
    assert not any(p.name.startswith(".") for p in report.parent.iterdir())  # no temporary folder left
    lock = json.loads((report / "study.lock.json").read_text())
    assert set(lock["data_fingerprint"]) == {"patients", "stays", "diagnoses"}
    # synth 1.1.0 adds 0.3 nonsevere-infection patients per index patient (comparator group)
    assert lock["data_fingerprint"]["patients"]["rows"] == 26_000
    assert lock["engine"] == "duckdb" and "numpy" in lock["versions"]
    assert len(lock["spec_hash"]) == 64


def test_every_output_file_passes_the_disclosure_scan(report, data20k):
    ids = pd.read_parquet(Path(data20k) / "patients.parquet", columns=["patient_id"])["patient_id"]
    assert scan_outputs(report, 10, identifiers=ids) == []
    # the scan is not vacuous: the same folder fails under a larger minimum cell count
    assert scan_outputs(report, 1000)


def test_suppressed_cells_are_marked_and_no_small_count_is_shown(report):
    res = json.loads((report / "results.json").read_text())
    rates = pd.read_csv(report / "tables" / "incidence.csv", dtype=str)
    shown = pd.to_numeric(rates["events"], errors="coerce")
    assert not ((shown > 0) & (shown < 10)).any()
    final = res["attrition"][-1]
    for name, o in res["outcomes"].items():
        for r in o["rates"]:
            if r["events"] == "<10":
                assert r["rate"] is None  # a rate would reveal the count with the person-years
            at0 = next(a["n_risk"] for a in o["at_risk"] if a["group"] == r["group"] and a["year"] == 0)
            if isinstance(r["n"], int):
                # the patients left out of this outcome (final cohort - outcome patients) are not small
                left_out = final[f"n_{r['group']}"] - r["n"]
                assert left_out == 0 or left_out >= 10
                assert at0 == r["n"]
            else:
                assert isinstance(at0, str)  # at year 0 everyone is at risk: hidden with n


def test_planted_lung_effect_is_recovered(report, data20k):
    truth = json.loads((Path(data20k) / "truth.json").read_text())
    planted = math.exp(truth["planted"]["outcomes"]["lung"]["exposure"])
    res = json.loads((report / "results.json").read_text())
    row = next(r for r in res["outcomes"]["lung"]["models"] if r["model"] == "cox_adjusted" and r["term"] == "exposure")
    assert row["ci_lower"] < planted < row["ci_upper"]
    assert row["e_value"] >= 1


def test_html_is_self_contained(report):
    html = (report / "report.html").read_text()
    # the SVG namespace declarations are the only URLs allowed (they are names, never fetched)
    bare = html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    for bad in ("<script", "<link", "<iframe", "<img", "http://", "https://", "@import", "@font-face"):
        assert bad not in bare, bad
    assert not re.search(r"url\((?!#)", bare)  # only references to ids inside the document
    ET.fromstring(html.split("<body>", 1)[1].split("</body>")[0].join(["<body>", "</body>"])
                  .replace("&nbsp;", " "))  # the body is well-formed (inline SVG included)
    for section in ("Study summary", "Patient flow", "Table 1", "Outcomes", "Hazard ratios", "Cumulative incidence",
                    "Diagnostics", "Methods", "Limitations of the data checks"):
        assert section in html


def test_existing_out_is_not_overwritten(report, data20k):
    before = (report / "results.json").read_bytes()
    with pytest.raises(ReportError, match="--force"):
        run(STUDY, data20k, report)
    assert (report / "results.json").read_bytes() == before


def test_interrupted_run_leaves_no_out(data20k, tmp_path):
    out = tmp_path / "out"

    def stop(message):
        if message.startswith("lung"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(STUDY, data20k, out, progress=stop)
    assert list(tmp_path.iterdir()) == []


def test_run_interrupted_after_writing_leaves_no_out_and_no_temporary_folder(data20k, tmp_path):
    out = tmp_path / "out"
    seen = []

    def stop(message):
        seen.append(message)
        if message == "disclosure scan":  # every file is written in the temporary folder by now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(STUDY, data20k, out, progress=stop)
    assert "write report" in seen
    assert list(tmp_path.iterdir()) == []


def test_missing_input_table_is_a_typed_error_and_leaves_no_out(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(DataSchemaError, match="patients.parquet"):
        run(STUDY, tmp_path / "data", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_rerun_identical_and_cli_exit_codes(report, data20k, tmp_path):
    result = CliRunner().invoke(app, ["rerun", str(report), "--data", str(data20k), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "identical" in result.output
    # changed data: refused with exit 2 unless --allow-data-change
    changed = tmp_path / "changed"
    shutil.copytree(data20k, changed)
    p = pd.read_parquet(changed / "patients.parquet")
    p.iloc[1:].to_parquet(changed / "patients.parquet", index=False)
    assert data_fingerprint(changed)["patients"] != data_fingerprint(data20k)["patients"]
    with pytest.raises(RerunMismatchError, match="--allow-data-change"):
        rerun(report, changed, out2=tmp_path / "r2")
    result = CliRunner().invoke(app, ["rerun", str(report), "--data", str(changed), "--out", str(tmp_path / "r3")])
    assert result.exit_code == 2


def test_compare_results_lists_readable_differences():
    old = {"a": [{"hr": 0.75, "n": 12}], "b": "x", "provenance": {"engine": "duckdb"}}
    new = {"a": [{"hr": 0.75 * (1 + 1e-12), "n": 13}], "b": "x", "provenance": {"engine": "spark"}}
    assert compare_results(old, new) == ["a[0].n: 12 -> 13"]
    assert compare_results(old, old) == []


def test_matched_study_reports_balance_and_ps_adjusted_models(data20k, tmp_path):
    from cohortstat.spec import load_study

    study = load_study(STUDY.read_text().replace("    method: none", "    method: matching"))
    out = run(None, data20k, tmp_path / "m", study=study)
    assert scan_outputs(out, 10) == []
    res = json.loads((out / "results.json").read_text())
    assert res["attrition"][-1]["rule_id"] == "matching"
    assert res["balance"] and (out / "tables" / "balance.csv").is_file() and (out / "figures" / "balance.svg").is_file()
    models = {r["model"] for r in res["outcomes"]["lung"]["models"]}
    assert {"cox_ps", "fg_ps", "cox_adjusted"} <= models
    ps = next(r for r in res["outcomes"]["lung"]["models"] if r["model"] == "cox_ps")
    assert ps["robust_se"] is not None  # clustered on the matched set
    html = (out / "report.html").read_text()
    assert "Covariate balance (matching)" in html
    # issue 8: the preference-score overlap plot and the PS model's coefficients are in the report
    assert (out / "figures" / "preference.svg").is_file()
    assert "Preference-score overlap" in html and "Propensity-score model (logistic regression)" in html
    assert {r["term"] for r in res["ps_coef"]} >= {"age", "female", "charlson"}


def test_cli_run_refuses_an_existing_out_and_logs_steps_when_not_a_terminal(report, data20k):
    result = CliRunner().invoke(app, ["run", str(STUDY), "--data", str(data20k), "--out", str(report)])
    assert result.exit_code == 2
    assert "--force" in result.output


def test_results_object_gives_tidy_table_and_json(data20k):
    from cohortstat import analyze, build_cohort, load_study
    from cohortstat.report.writer import suppress_results

    study = load_study(STUDY)
    results = analyze(study, build_cohort(study, data=data20k))
    tidy = results.table()
    assert list(tidy.columns) == ["outcome", "analysis", "group", "term", "statistic", "value"]
    assert set(tidy["outcome"]) == set(study.outcomes)
    hr = tidy.query("outcome == 'lung' and analysis == 'cox_adjusted' and term == 'exposure' and statistic == 'hr'")
    assert len(hr) == 1
    doc = suppress_results(results, 10)
    json.dumps(doc, allow_nan=False)
    row = next(r for r in doc["outcomes"]["lung"]["models"] if r["model"] == "cox_adjusted" and r["term"] == "exposure")
    assert row["hr"] == pytest.approx(hr["value"].iloc[0])


# --- run profile, threads and memory (fast: stopped before the cohort is built) ----------------------


def _stop_at_build(monkeypatch):
    """Replace build_cohort by a spy that records its arguments and the engine environment, then stops."""
    import os

    import cohortstat.cohort as cohort_pkg

    seen = {}

    def spy(study, **kwargs):
        seen.update(kwargs)
        seen["env"] = os.environ.get("COHORTSTAT_DUCKDB_MEMORY_LIMIT")
        raise ReportError("stopped at build")

    monkeypatch.setattr(cohort_pkg, "build_cohort", spy)
    return seen


@pytest.fixture(scope="module")
def data_small(tmp_path_factory):
    from cohortstat.data.synth import generate

    return generate(2_000, 3, tmp_path_factory.mktemp("small") / "data")


def test_profile_threads_and_memory_reach_the_engine(data_small, tmp_path, monkeypatch):
    import os

    monkeypatch.delenv("COHORTSTAT_DUCKDB_MEMORY_LIMIT", raising=False)
    seen = _stop_at_build(monkeypatch)
    with pytest.raises(ReportError, match="stopped at build"):
        run(STUDY, data_small, tmp_path / "out", profile={"threads": 2, "memory_limit": "1GB"})
    assert seen["threads"] == 2 and seen["engine"] == "duckdb"
    assert seen.get("memory_limit", seen["env"]) == "1GB"
    assert "COHORTSTAT_DUCKDB_MEMORY_LIMIT" not in os.environ  # set for the build only
    assert list(tmp_path.iterdir()) == []


def test_explicit_arguments_win_over_the_profile_file(data_small, tmp_path, monkeypatch):
    seen = _stop_at_build(monkeypatch)
    profile = tmp_path / "profile.yaml"
    profile.write_text("threads: 4\nmin_cell_count: 12\n")
    with pytest.raises(ReportError, match="stopped at build"):
        run(STUDY, data_small, tmp_path / "out", profile=profile, threads=1)
    assert seen["threads"] == 1


def test_cli_threads_and_profile_options(data_small, tmp_path, monkeypatch):
    seen = _stop_at_build(monkeypatch)
    profile = tmp_path / "profile.yaml"
    profile.write_text("threads: 4\nmemory_limit: 2GB\n")
    result = CliRunner().invoke(app, ["run", str(STUDY), "--data", str(data_small), "--out", str(tmp_path / "o"),
                                      "--profile", str(profile), "--threads", "3"])
    assert result.exit_code == 2 and "stopped at build" in result.stderr
    assert seen["threads"] == 3 and seen.get("memory_limit", seen["env"]) == "2GB"


def test_spark_master_reaches_the_builder_from_the_profile_and_the_command_line(data_small, tmp_path, monkeypatch):
    seen = _stop_at_build(monkeypatch)
    profile = tmp_path / "profile.yaml"
    profile.write_text("engine: spark\nspark_master: local[2]\n")
    with pytest.raises(ReportError, match="stopped at build"):
        run(STUDY, data_small, tmp_path / "out", profile=profile)
    assert seen["engine"] == "spark" and seen["spark_master"] == "local[2]"
    result = CliRunner().invoke(app, ["run", str(STUDY), "--data", str(data_small), "--out", str(tmp_path / "o"),
                                      "--profile", str(profile), "--spark-master", "spark://127.0.0.1:7077"])
    assert result.exit_code == 2 and "stopped at build" in result.stderr
    assert seen["spark_master"] == "spark://127.0.0.1:7077"  # the option wins over the profile
    assert list(tmp_path.iterdir()) == [profile]


def test_a_wrong_spark_master_is_refused_before_anything_runs(data_small, tmp_path, monkeypatch):
    seen = _stop_at_build(monkeypatch)
    result = CliRunner().invoke(app, ["run", str(STUDY), "--data", str(data_small), "--out", str(tmp_path / "o"),
                                      "--engine", "spark", "--spark-master", "yarn"])
    assert result.exit_code == 2 and not seen
    assert ("spark_master: invalid Spark master 'yarn': use local[N], local[*], local-cluster[W,C,MB] or"
            " spark://host:port") in result.stderr
    with pytest.raises(ReportError, match="spark_master: invalid Spark master 'local'"):
        run(STUDY, data_small, tmp_path / "out", spark_master="local")
    assert list(tmp_path.iterdir()) == []


def test_the_spark_master_is_a_run_setting_recorded_nowhere(data_small, tmp_path):
    """Like threads, the master is not part of the frozen study: no output names it (DuckDB ignores it)."""
    import warnings

    from cohortstat.errors import CohortWarning

    with warnings.catch_warnings():  # the small data set has an outcome without events in one group
        warnings.simplefilter("ignore", CohortWarning)
        out = run(STUDY, data_small, tmp_path / "out", profile={"spark_master": "local-cluster[2,1,1024]"})
    lock = json.loads((out / "study.lock.json").read_text())
    assert lock["engine"] == "duckdb" and "spark_master" not in lock
    written = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".json", ".csv", ".log", ".html")]
    assert written and not [p.name for p in written if "local-cluster" in p.read_text(encoding="utf-8")]


def test_rerun_takes_a_spark_master(monkeypatch, tmp_path):
    import importlib

    run_module = importlib.import_module("cohortstat.run")  # the package re-exports run() under this name

    seen = {}

    def spy(out, data, **kwargs):
        seen.update(kwargs)
        raise ReportError("stopped at rerun")

    monkeypatch.setattr(run_module, "rerun", spy)
    result = CliRunner().invoke(app, ["rerun", str(tmp_path / "r"), "--data", str(tmp_path), "--engine", "spark",
                                      "--spark-master", "local-cluster[2,1,1024]"])
    assert result.exit_code == 2 and "stopped at rerun" in result.stderr
    assert seen["engine"] == "spark" and seen["profile"].spark_master == "local-cluster[2,1,1024]"


def test_an_os_error_during_a_run_is_a_clear_error_and_leaves_nothing(data_small, tmp_path, monkeypatch):
    import sys

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "o"))

    monkeypatch.setattr(sys.modules["cohortstat.run"], "_data_checks", disk_full)
    result = CliRunner().invoke(app, ["run", str(STUDY), "--data", str(data_small), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "No space left on device" in result.stderr and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_small_cells_override_is_recorded(data_small, tmp_path, monkeypatch):
    seen = _stop_at_build(monkeypatch)
    steps = []
    with pytest.raises(ReportError, match="stopped at build"):
        run(STUDY, data_small, tmp_path / "out", min_cell_count=5, allow_small_cells=True, progress=steps.append)
    assert steps[1] == "small-cell override: min_cell_count 5 (below 10) accepted with --allow-small-cells"
    assert seen
    with pytest.raises(ReportError, match="--allow-small-cells"):
        run(STUDY, data_small, tmp_path / "out", min_cell_count=5)
