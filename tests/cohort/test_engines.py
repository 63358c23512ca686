"""Engines: one subclass per backend made by ``Engine.create``, the run profile's memory limit reaching
the engine (not an environment variable), Spark's log output quiet unless asked for."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cohortstat.engines import DuckDBEngine, Engine, SparkEngine, spark_memory
from cohortstat.errors import EngineError, ReportError
from tests.cohort.conftest import STUDY

ROOT = Path(__file__).resolve().parents[2]


def _setting(con, name: str) -> str:
    return con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]


def _duckdb_shows(limit: str) -> str:
    """How a fresh DuckDB connection reports ``limit`` once set."""
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{limit}'")
        return _setting(con, "memory_limit")
    finally:
        con.close()


def test_create_makes_the_subclass_of_the_engine():
    with Engine.create("duckdb", threads=1) as eng:
        assert type(eng) is DuckDBEngine and eng.name == "duckdb"
        assert _setting(eng.con.con, "threads") == 1
        table = eng.lookup(pd.DataFrame({"a": [3, 1, 2]}), "x")
        assert eng.to_pandas(table.order_by("a"))["a"].tolist() == [1, 2, 3]
    assert issubclass(SparkEngine, Engine) and SparkEngine.name == "spark"
    with pytest.raises(EngineError, match="unknown engine 'sqlite': use one of duckdb, spark"):
        Engine.create("sqlite")


def test_a_stored_table_is_not_copied_and_release_drops_it():
    with Engine.create("duckdb", threads=1) as eng:
        base = eng.lookup(pd.DataFrame({"a": [3, 1, 2]}), "x")
        stored = eng.materialize(base.filter(base.a > 1), "kept")
        assert eng.materialize(stored, "again") is stored  # no second copy
        assert eng.materialize(stored.filter(stored.a > 2), "sub") is not stored
        tables = {name for _, name in eng._temp}
        eng.release(stored)
        assert {name for _, name in eng._temp} == tables - {stored.op().name}
        with pytest.raises(duckdb.CatalogException):
            eng.con.con.execute(f'SELECT * FROM "{stored.op().name}"')
        eng.release(base)  # not a stored table: left alone
        assert eng.to_pandas(base.order_by("a"))["a"].tolist() == [1, 2, 3]


def test_memory_limit_argument_reaches_duckdb(monkeypatch):
    monkeypatch.delenv("COHORTSTAT_DUCKDB_MEMORY_LIMIT", raising=False)
    with Engine.create("duckdb", memory_limit="1GiB") as eng:
        assert _setting(eng.con.con, "memory_limit") == _duckdb_shows("1GiB")
    with Engine.create("duckdb") as eng:  # the default
        assert _setting(eng.con.con, "memory_limit") == _duckdb_shows("4GB")
    assert _duckdb_shows("1GiB") != _duckdb_shows("4GB")


def test_environment_variable_is_only_a_fallback(monkeypatch):
    monkeypatch.setenv("COHORTSTAT_DUCKDB_MEMORY_LIMIT", "2GiB")
    with Engine.create("duckdb") as eng:
        assert _setting(eng.con.con, "memory_limit") == _duckdb_shows("2GiB")
    with Engine.create("duckdb", memory_limit="1GiB") as eng:
        assert _setting(eng.con.con, "memory_limit") == _duckdb_shows("1GiB")
    monkeypatch.setenv("COHORTSTAT_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(EngineError, match="invalid memory limit 'lots'"):
        Engine.create("duckdb")


@pytest.mark.parametrize("given, spark", [("8GB", "8g"), ("512MiB", "512m"), ("16TB", "16t"), ("4g", "4g")])
def test_spark_memory_spelling(given, spark):
    assert spark_memory(given) == spark


def test_profile_memory_limit_reaches_duckdb_through_run(layouts, tmp_path, monkeypatch):
    """run(profile=...) -> build_cohort(memory_limit=) -> DuckDB's setting; the variable does not win."""
    from cohortstat.run import run

    monkeypatch.setenv("COHORTSTAT_DUCKDB_MEMORY_LIMIT", "3GiB")
    seen = []
    original = DuckDBEngine.__init__

    def spy(self, threads=None, memory_limit=None, verbose=False):
        original(self, threads=threads, memory_limit=memory_limit, verbose=verbose)
        seen.append((threads, memory_limit, _setting(self.con.con, "memory_limit")))
        if memory_limit is not None:  # the cohort build: stop here
            self.close()
            raise ReportError("stopped at the cohort build")

    monkeypatch.setattr(DuckDBEngine, "__init__", spy)
    with pytest.raises(ReportError, match="stopped at the cohort build"):
        run(STUDY, layouts["pmsi"], tmp_path / "out", profile={"threads": 1, "memory_limit": "1GiB"})
    assert seen[-1] == (1, "1GiB", _duckdb_shows("1GiB"))
    assert not (tmp_path / "out").exists()


_PROBE = """
import pandas as pd
from cohortstat.engines import Engine
with Engine.create("spark", threads=1, memory_limit="1GB") as eng:
    print("driver memory", eng.session.conf.get("spark.driver.memory"))
    print("max result", eng.session.conf.get("spark.driver.maxResultSize"))
    print("rows", eng.to_pandas(eng.lookup(pd.DataFrame({"a": [1, 2]}), "x"))["a"].sum())
"""


@pytest.mark.spark
@pytest.mark.parametrize("verbose", [False, True])
def test_spark_is_quiet_unless_verbose(verbose):
    """A new Spark session: the profile's memory as driver memory and as the largest collected result
    (Spark's own 1 GB default stops a 3.9 M-patient table); stderr without log4j lines by default."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("COHORTSTAT_SPARK_VERBOSE", None)
    if verbose:
        env["COHORTSTAT_SPARK_VERBOSE"] = "1"
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "driver memory 1g" in done.stdout and "max result 1g" in done.stdout and "rows 3" in done.stdout
    log4j = [line for line in done.stderr.splitlines()
             if " WARN " in line or " INFO " in line or "log level" in line or "log4j" in line]
    assert bool(log4j) is verbose, done.stderr


@pytest.mark.parametrize("flag", [[], ["--verbose"]])
def test_cli_verbose_switches_spark_logging_on(flag, layouts, tmp_path, monkeypatch):
    """``cohortstat run --verbose`` sets the switch the Spark engine reads; without it nothing is set."""
    from typer.testing import CliRunner

    from cohortstat.cli import app

    run_module = importlib.import_module("cohortstat.run")  # the package re-exports run() under this name

    monkeypatch.setenv("COHORTSTAT_SPARK_VERBOSE", "")  # recorded, so the CLI's setting is undone after the test
    monkeypatch.delenv("COHORTSTAT_SPARK_VERBOSE")
    seen = {}

    def spy(study, data, out, **kwargs):
        seen["switch"] = os.environ.get("COHORTSTAT_SPARK_VERBOSE")
        seen["memory_limit"] = kwargs["profile"].memory_limit
        return Path(out)

    monkeypatch.setattr(run_module, "run", spy)
    done = CliRunner().invoke(app, ["run", str(STUDY), "--data", str(layouts["pmsi"]), "--out",
                                    str(tmp_path / "out"), "--memory-limit", "2GB", *flag])
    assert done.exit_code == 0, done.output
    assert seen == {"switch": "1" if flag else None, "memory_limit": "2GB"}


def test_duckdb_spills_into_a_private_temporary_folder_not_the_current_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    eng = Engine.create("duckdb", threads=1, memory_limit="200MB")
    spill = eng.con.con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert Path(spill).is_dir() and Path(spill).resolve().parent != tmp_path.resolve()
    # a table about the size of the limit (spilled when it does not fit) is read back exactly
    eng.con.con.execute("CREATE TEMP TABLE big AS SELECT i, md5(i::VARCHAR) AS h FROM range(4000000) t(i)")
    assert eng.con.con.execute("SELECT count(*), sum(i) FROM big").fetchone() == (4_000_000, 7_999_998_000_000)
    eng.close()
    assert not Path(spill).exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("step", ["materialize", "to_pandas"])
def test_running_out_of_memory_names_the_limit_and_how_to_raise_it(step):
    # a list aggregate holds all its values at once: it cannot spill, so a small limit runs out
    with Engine.create("duckdb", threads=1, memory_limit="16MB") as eng:
        eng.con.con.execute("CREATE VIEW hashes AS SELECT md5(i::VARCHAR) AS h FROM range(3000000) t(i)")
        hashes = eng.con.table("hashes")
        lists = hashes.aggregate(l=hashes.h.collect())
        with pytest.raises(EngineError) as err:
            eng.materialize(lists, "lists") if step == "materialize" else eng.to_pandas(lists)
    message = str(err.value)
    assert "DuckDB ran out of memory under its limit of 16MB" in message
    assert "--memory-limit" in message and "COHORTSTAT_DUCKDB_MEMORY_LIMIT" in message
    assert isinstance(err.value.__cause__, duckdb.OutOfMemoryException)


@pytest.mark.parametrize("said", ["py4j.protocol.Py4JJavaError: An error occurred while calling o123.collectAsArrowToPython.\n"
                                  ": java.lang.OutOfMemoryError: Java heap space",
                                  "Job aborted: Total size of serialized results of 12 tasks (1208.4 MiB) is bigger "
                                  "than spark.driver.maxResultSize (1024.0 MiB)"])
def test_the_spark_driver_out_of_memory_says_how_to_give_it_more(said):
    from cohortstat.spark_driver import driver_guard

    with pytest.raises(EngineError, match=r"ran out of memory collecting it \(driver memory 4g.*--memory-limit.*"
                                          "COHORTSTAT_SPARK_DRIVER_MEMORY"):
        with driver_guard("4g", "collecting it"):
            raise RuntimeError(said)
    with pytest.raises(ValueError, match="something else"):  # any other error passes through
        with driver_guard("4g", "collecting it"):
            raise ValueError("something else")


@pytest.mark.parametrize("said", ["An error occurred while calling o63.getResult",  # a bare Py4JError
                                  "Error while sending or receiving"])  # as Py4JNetworkError says it
def test_a_call_failing_while_the_driver_exits_waits_for_its_exit_code(said, monkeypatch):
    """The driver out of memory while it serves a result: the Python call fails with a bare py4j error
    before the JVM has finished exiting; the guard waits for the exit code, which says why."""
    from py4j.protocol import Py4JError, Py4JNetworkError

    import cohortstat.spark_driver as spark_driver

    exiting = subprocess.Popen([sys.executable, "-c", "import time, sys; time.sleep(1); sys.exit(3)"])
    monkeypatch.setattr(spark_driver, "driver_process", lambda: exiting)
    error = Py4JError(said) if said.startswith("An error") else Py4JNetworkError(said)
    with pytest.raises(EngineError, match=r"ran out of memory collecting it \(driver memory 4g; the driver "
                                          r"exited with code 3, -XX:\+ExitOnOutOfMemoryError\)"):
        with spark_driver.driver_guard("4g", "collecting it"):
            raise error
    assert exiting.returncode == 3


def test_py4j_tracebacks_on_the_root_logger_are_not_shown_while_the_driver_is_guarded(caplog):
    """When the connection to a dying driver breaks, py4j logs "Exception while sending command." with a
    whole traceback on the root logger; inside the guard the EngineError says it instead. Other records
    pass, and outside the guard nothing is dropped."""
    import logging

    from cohortstat.spark_driver import driver_guard

    root = logging.getLogger()
    py4j_file = os.path.join(os.sep, "venv", "site-packages", "py4j", "java_gateway.py")

    def log(path, message):
        root.handle(root.makeRecord("root", logging.ERROR, path, 1, message, None, None))

    with caplog.at_level(logging.INFO):
        with driver_guard("4g", "collecting it"):
            log(py4j_file, "Exception while sending command.")
            log(__file__, "a record of someone else")
        log(py4j_file, "after the guard")
    assert [r.getMessage() for r in caplog.records] == ["a record of someone else", "after the guard"]
    assert not root.filters


def test_a_spark_context_shut_down_during_a_collection_is_an_engine_error():
    """Spark shuts its context down when one of its threads runs out of memory: the job the Python call
    waits on is cancelled with this text, and no out-of-memory message reaches Python."""
    from cohortstat.spark_driver import driver_guard

    said = "Py4JJavaError: ... org.apache.spark.SparkException: Job 12 cancelled because SparkContext was shut down"
    with pytest.raises(EngineError, match=r"the Spark driver stopped collecting it: it shut its context down "
                                          r"\(driver memory 4g\).*--memory-limit"):
        with driver_guard("4g", "collecting it"):
            raise RuntimeError(said)


_DRIVER_OOM = """
import sys
from cohortstat.engines import Engine
from cohortstat.errors import EngineError

def big(eng):
    eng.session.range({rows}).selectExpr("id", "id * 2 AS a", "CAST(id AS DOUBLE) AS b",
                                        "CAST(id % 1000 AS STRING) AS c").createOrReplaceTempView("big")
    return eng.con.table("big")

eng = Engine.create("spark", threads=2, memory_limit="{memory}")
scratch = eng._scratch
assert eng.session.conf.get("spark.local.dir") == str(scratch) and scratch.is_dir()
try:
    eng.to_pandas(big(eng))
    print("collected through the heap")
except EngineError as exc:
    print("EngineError:", exc)
eng.close()
print("scratch left", scratch.exists())
with Engine.create("spark", threads=2, memory_limit="{memory}") as eng:  # a new driver in the same process
    rows = eng.to_pandas(big(eng), drop=("c",), large=True)
    print("large", len(rows), int(rows["id"].sum()), list(rows.columns), str(rows["b"].dtype))
    scratch = eng._scratch
from pyspark.sql import SparkSession  # a later session of the same JVM does not make it again
SparkSession.builder.master("local[1]").getOrCreate().range(3).count()
print("scratch made again", scratch.exists())
"""


@pytest.mark.spark
def test_a_driver_out_of_memory_stops_with_an_engine_error_and_a_large_result_avoids_it():
    """A result larger than the driver's heap: collected through the heap, the driver JVM runs out of
    memory and the call ends with the EngineError (never a hang: the JVM exits on any out-of-memory
    error) and Spark's scratch folder is removed; the same result as ``large`` comes through files, with
    the same columns and dtypes; a new engine starts in the same process after the dead driver."""
    rows = 25_000_000
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("COHORTSTAT_SPARK_VERBOSE", None)  # as a user runs it: Spark's log lines reduced to errors
    script = _DRIVER_OOM.format(rows=rows, memory="600MB")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if not line.startswith("Terminating due to")]  # the JVM's
    assert lines[0].startswith("EngineError: the Spark driver ran out of memory collecting a result "
                               "(driver memory 600m; the driver exited with code 3"), done.stdout
    assert "--memory-limit" in lines[0]
    assert lines[1] == "scratch left False"  # Spark's scratch folder, removed after the driver's exit
    assert lines[2] == f"large {rows} {rows * (rows - 1) // 2} ['id', 'a', 'b'] float64"
    assert lines[3] == "scratch made again False"
    assert "Traceback" not in done.stderr and "UserWarning" not in done.stderr, done.stderr
