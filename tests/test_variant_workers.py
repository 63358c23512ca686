"""Sensitivity variants in worker processes (``jobs``): the same results as one after the other, and
every failure stops the run with nothing written and no worker left running."""

from __future__ import annotations

import os
import queue
import time

import pytest
import yaml
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.errors import CohortError, CohortstatError, ReportError
from cohortstat.run import run
from cohortstat.variant_workers import BuildSettings, VariantWorkers, _worker, deal
from tests.core_study import core_study_path

pytestmark = pytest.mark.filterwarnings("ignore::cohortstat.errors.CohortWarning")  # small data: rare outcomes


def _study(tmp_path, sensitivity: dict):
    doc = yaml.safe_load(core_study_path().read_text(encoding="utf-8"))
    doc["outcomes"] = {k: v for k, v in doc["outcomes"].items() if k in ("lung", "all_cancers")}
    doc["sensitivity"] = sensitivity
    folder = tmp_path / "study"
    folder.mkdir(exist_ok=True)
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from cohortstat.data.synth import generate

    return generate(2500, 3, tmp_path_factory.mktemp("workers") / "data")


VARIANTS = {"blanking_2y": {"follow_up": {"blanking_days": 730}},
            "iptw": {"analyses": {"confounding": {"method": "iptw"}}},
            "no_flags": {"covariates": {"flags": []}}}


def test_worker_processes_give_the_results_of_one_process_byte_for_byte(tmp_path, data):
    path = _study(tmp_path, VARIANTS)
    one = run(path, data, tmp_path / "one")
    messages = []
    two = run(path, data, tmp_path / "two", jobs=3, progress=messages.append)
    assert "sensitivity blanking_2y, no_flags: own cohorts, built and analysed in 2 worker process(es)" in messages
    assert "sensitivity blanking_2y: results from its worker process" in messages
    assert "sensitivity blanking_2y: build cohort" not in messages  # built in its worker, not here
    assert (one / "results.json").read_bytes() == (two / "results.json").read_bytes()
    assert (one / "tables" / "estimates.csv").read_bytes() == (two / "tables" / "estimates.csv").read_bytes()
    log = (two / "run.log").read_text(encoding="utf-8")
    assert "worker" in log and "sensitivity no_flags: analyses" in log  # the worker's steps are in run.log


def test_a_variant_failing_in_its_worker_stops_the_run_with_its_error(tmp_path, data):
    bad = {"nobody": {"inclusion": [{"id": "adult", "rule": "age_at_index", "min_years": 120}]}}
    path = _study(tmp_path, {**bad, "iptw": VARIANTS["iptw"]})
    with pytest.raises(CohortError) as sequential:
        run(path, data, tmp_path / "one")
    with pytest.raises(CohortError) as parallel:
        run(path, data, tmp_path / "two", jobs=2)
    assert str(parallel.value) == str(sequential.value)
    assert not (tmp_path / "two").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def _die(study, name, settings, progress):
    os._exit(7)


def _sleep(study, name, settings, progress):
    time.sleep(120)


def _echo(study, name, settings, progress):
    progress(f"{name}: working")
    return {"name": name}


def test_a_worker_that_dies_stops_the_run_with_a_clear_error(tmp_path):
    with VariantWorkers(None, ["a"], BuildSettings(tmp_path), workers=1, target=_die) as w:
        with pytest.raises(CohortstatError, match=r"'a': its worker process stopped \(exit code 7\).*--jobs 1"):
            w.result("a")


def test_results_come_back_in_any_order_with_the_worker_progress(tmp_path):
    with VariantWorkers(None, ["a", "b", "c"], BuildSettings(tmp_path), workers=2, target=_echo) as w:
        assert w.names == ("a", "c", "b")
        for name in ("b", "a", "c"):
            result, lines = w.result(name)
            assert result == {"name": name}
            assert len(lines) == 1 and lines[0].endswith(f"{name}: working")


def test_leaving_the_block_terminates_running_workers(tmp_path):
    w = VariantWorkers(None, ["a", "b"], BuildSettings(tmp_path), workers=2, target=_sleep)
    with pytest.raises(RuntimeError):
        with w:
            procs = [p for p, _ in w._procs]
            assert all(p.is_alive() for p in procs)
            raise RuntimeError("the main analysis failed")
    assert not any(p.is_alive() for p in procs)


def test_a_worker_stops_when_its_main_process_has_gone():
    q = queue.Queue()
    with pytest.raises(SystemExit):
        _worker(["a"], None, None, q, os.getppid() + 1_000_000, target=_echo)
    assert q.empty()


def test_variants_are_dealt_round_robin():
    assert deal(["a", "b", "c"], 2) == [["a", "c"], ["b"]]
    assert deal(["a"], 3) == [["a"]]


@pytest.mark.parametrize("value", ["0", "x"])
def test_the_command_line_refuses_a_bad_jobs_value(tmp_path, value):
    res = CliRunner().invoke(app, ["run", str(core_study_path()), "--data", str(tmp_path), "--out",
                                   str(tmp_path / "out"), "--jobs", value])
    assert res.exit_code == 2
    assert "--jobs" in res.output
    assert not (tmp_path / "out").exists()


def test_a_profile_with_a_bad_jobs_value_names_the_field(tmp_path, data):
    with pytest.raises(ReportError, match="jobs: input should be greater than or equal to 1"):
        run(core_study_path(), data, tmp_path / "out", profile={"jobs": 0})


def _fail(study, name, settings, progress):
    raise ValueError(f"{name} cannot be analysed")


def test_a_failure_is_seen_at_the_next_step_without_waiting_for_the_result(tmp_path):
    """``check`` (called by the main process at each of its steps) raises a variant's error as soon as
    it has arrived, and reports a worker that stopped without its results; it never waits."""
    with VariantWorkers(None, ["a"], BuildSettings(tmp_path), workers=1, target=_fail) as w:
        deadline = time.monotonic() + 120
        with pytest.raises(ValueError, match="a cannot be analysed"):
            while time.monotonic() < deadline:
                w.check()
                time.sleep(0.05)
    with VariantWorkers(None, ["a"], BuildSettings(tmp_path), workers=1, target=_die) as w:
        deadline = time.monotonic() + 120
        with pytest.raises(CohortstatError, match=r"'a': its worker process stopped \(exit code 7\)"):
            while time.monotonic() < deadline:
                w.check()
                time.sleep(0.05)
    with VariantWorkers(None, ["a", "b"], BuildSettings(tmp_path), workers=1, target=_echo) as w:
        started = time.monotonic()
        w.check()  # nothing has failed: returns at once
        assert time.monotonic() - started < 0.5
        assert w.result("a")[0] == {"name": "a"} and w.result("b")[0] == {"name": "b"}
        w._procs[0][0].join(60)
        w.check()  # a worker that ended after sending all its results is no failure


def test_the_run_checks_the_workers_at_each_step_until_the_report(tmp_path, data, monkeypatch):
    """From the main cohort's build to the last variant: every step looks for a failed worker (so a
    failure stops the run within a step); writing the report (workers closed) does not."""
    messages, seen = [], []
    original = VariantWorkers.check

    def spy(self):
        seen.append(len(messages))  # the index of the step message about to be shown
        return original(self)

    monkeypatch.setattr(VariantWorkers, "check", spy)
    path = _study(tmp_path, {"blanking_2y": VARIANTS["blanking_2y"]})
    run(path, data, tmp_path / "out", jobs=2, progress=messages.append)
    build, write = messages.index("build cohort"), messages.index("write report")
    assert seen[0] == build and max(seen) < write
    assert messages.index("lung: Cox crude") in seen and messages.index("diagnostics") in seen
