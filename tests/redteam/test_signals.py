"""Red team, signals: SIGINT / SIGTERM at any point of a run leave no temporary folder and no output.

Real subprocesses of ``python -m cohortstat run`` receive the signals; in-process tests cover what a
subprocess cannot aim at: an interrupt swallowed by a garbage-collection callback, and one turned by a
library into its own error (DuckDB: ``RuntimeError: Query interrupted``).
"""

from __future__ import annotations

import gc
import signal
import subprocess
import time

import pytest
import yaml
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.interrupts import RunInterrupted
from cohortstat.run import run

from ._safety import STUDY, cli, cli_env, leftovers, synth


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("signals") / "data")


def _signal_during(step: str, signum: int, data, tmp_path, study=STUDY, args=()) -> tuple[int, str]:
    """Start a run, send ``signum`` when it logs ``step``; return (exit code, stderr).

    The run leads a process group of its own: no process of that group may outlive it."""
    out = tmp_path / "reports" / "out"
    # the run starts as from a terminal: with the signal's default action, even when the test session
    # itself ignores it (pytest under nohup ignores SIGHUP, and a run keeps an ignored signal ignored)
    proc = subprocess.Popen(cli("run", str(study), "--data", str(data), "--out", str(out), *args),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=cli_env(),
                            preexec_fn=lambda: signal.signal(signum, signal.SIG_DFL), start_new_session=True)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if f"step={step!r}" in line:
                proc.send_signal(signum)
                break
        rest = proc.stderr.read()
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any(f"step={step!r}" in line for line in seen), "".join(seen)
    assert not out.exists()
    assert not (tmp_path / "reports").exists()  # the parent it created is gone, with every temporary folder
    assert leftovers(tmp_path) == []
    time.sleep(0.5)
    ps = subprocess.run(["ps", "-o", "pid=,stat=,args=", "-g", str(proc.pid)], capture_output=True, text=True)
    alive = [line for line in ps.stdout.splitlines() if line.split()[1][0] != "Z"]  # a zombie has exited
    assert alive == [], f"processes of the run still alive: {alive}"
    return code, rest


def test_sigterm_during_the_analyses_cleans_up_and_exits_143(data, tmp_path):
    code, err = _signal_during("lung: Cox crude", signal.SIGTERM, data, tmp_path)
    assert code == 143
    assert "interrupted by SIGTERM" in err and "Traceback" not in err


def test_sigterm_while_variants_run_in_worker_processes_stops_every_worker(data, tmp_path):
    doc = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    doc["sensitivity"] = {"blanking_2y": {"follow_up": {"blanking_days": 730}}}
    (tmp_path / "study").mkdir()
    study = tmp_path / "study" / "study.yaml"
    study.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    code, err = _signal_during("lung: Cox crude", signal.SIGTERM, data, tmp_path, study, ("--jobs", "2"))
    assert code == 143
    assert "interrupted by SIGTERM" in err and "Traceback" not in err


def test_sigint_while_the_report_is_written_cleans_up_and_exits_130(data, tmp_path):
    code, err = _signal_during("write report", signal.SIGINT, data, tmp_path)
    assert code == 130
    assert "interrupted by SIGINT" in err and "Traceback" not in err


def test_sigterm_at_the_disclosure_scan_never_publishes(data, tmp_path):
    code, _ = _signal_during("disclosure scan", signal.SIGTERM, data, tmp_path)
    assert code == 143


def test_interrupt_swallowed_by_a_gc_callback_still_aborts_the_run(data, tmp_path, monkeypatch):
    swallowed = []
    monkeypatch.setattr("sys.unraisablehook", lambda u: swallowed.append(u.exc_type))

    def callback(phase, info):
        if phase == "start" and not swallowed:
            signal.raise_signal(signal.SIGINT)  # the handler's exception is raised in here and ignored

    def progress(message):
        if message == "analyses":
            gc.callbacks.append(callback)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(callback)

    out = tmp_path / "out"
    with pytest.raises(RunInterrupted) as info:
        run(STUDY, data, out, progress=progress)
    assert RunInterrupted in swallowed  # Python ignored it inside the callback ...
    assert info.value.exit_code == 130  # ... and the next step boundary stopped the run
    assert list(tmp_path.iterdir()) == []


def test_interrupt_turned_into_a_library_error_is_an_interrupt(data, tmp_path):
    def progress(message):
        if message == "build cohort":
            try:
                signal.raise_signal(signal.SIGINT)
            except RunInterrupted:
                raise RuntimeError("Query interrupted") from None  # what DuckDB raises

    with pytest.raises(RunInterrupted) as info:
        run(STUDY, data, tmp_path / "out", progress=progress)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert list(tmp_path.iterdir()) == []


def test_cli_exits_130_when_duckdb_reports_query_interrupted(data, tmp_path, monkeypatch):
    def fingerprint(*args, **kwargs):
        try:
            signal.raise_signal(signal.SIGINT)
        except RunInterrupted:
            pass
        raise RuntimeError("Query interrupted")

    import sys

    monkeypatch.setattr(sys.modules["cohortstat.run"], "data_fingerprint", fingerprint)
    result = CliRunner().invoke(app, ["run", str(STUDY), "--data", str(data), "--out", str(tmp_path / "out")])
    assert result.exit_code == 130, result.output
    assert "interrupted by SIGINT" in result.output
    assert list(tmp_path.iterdir()) == []


def test_handlers_are_restored_after_a_run(data, tmp_path):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def progress(message):
        if message == "data checks":
            signal.raise_signal(signal.SIGTERM)

    with pytest.raises(RunInterrupted) as info:
        run(STUDY, data, tmp_path / "out", progress=progress)
    assert info.value.exit_code == 143
    assert {s: signal.getsignal(s) for s in before} == before


def test_sighup_when_the_terminal_closes_cleans_up_and_exits_129(data, tmp_path):
    code, err = _signal_during("analyses", signal.SIGHUP, data, tmp_path)
    assert code == 129
    assert "interrupted by SIGHUP" in err


def test_an_ignored_signal_stays_ignored_during_a_run():
    from cohortstat import interrupts

    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with interrupts.guard():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


def test_duckdb_query_interrupted_without_our_handler_seeing_the_signal_is_an_interrupt(data, tmp_path):
    def progress(message):
        if message == "build cohort":
            raise RuntimeError("Query interrupted")  # DuckDB caught the Ctrl-C itself

    with pytest.raises(RunInterrupted) as info:
        run(STUDY, data, tmp_path / "out", progress=progress)
    assert info.value.exit_code == 130
    assert list(tmp_path.iterdir()) == []
