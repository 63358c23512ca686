"""Engine connections: the one place that knows DuckDB from Spark.

The cohort logic is written once as Ibis expressions (:mod:`cohortstat.cohort.pipeline`). An
:class:`Engine` gives it input tables, small lookup tables (concept prefixes, Charlson coding) and
materialisation of intermediate results, on either backend:

- ``duckdb`` (default): an in-process DuckDB database; parquet files are read in place.
- ``spark``: ``ibis.pyspark`` over a local ``SparkSession`` (``local[threads]``); an active session is
  reused when there is one (tests share one session), otherwise one is created with a
  memory-conscious configuration.

Materialisation does not go through ``Table.cache()``: with sqlglot 30 the DROP statements Ibis 12
emits lose their table name (see docs/engines.md), so the engine creates and drops its own temporary
tables. Lookup tables hold ICD-10 prefixes as data, never as SQL text.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import ibis
import pandas as pd

from cohortstat.errors import EngineError

ENGINES = ("duckdb", "spark")
_counter = itertools.count()


def _spark_session(threads: int | None):
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineError(
            "engine='spark' needs pyspark: install the extra with `pip install cohortstat[spark]`"
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    cores = threads or os.cpu_count() or 2
    builder = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("cohortstat")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(max(2, 2 * cores)))
        .config("spark.driver.memory", os.environ.get("COHORTSTAT_SPARK_DRIVER_MEMORY", "4g"))
        # adaptive execution re-plans every small stage of the many short cohort steps: several
        # times slower here (docs/engines.md)
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # pragma: no cover - JVM start failures
        raise EngineError(f"could not start a local Spark session (is Java 17 installed?): {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session, True


class Engine:
    """A backend connection plus the temporary tables made on it.

    Parameters
    ----------
    name : {"duckdb", "spark"}
        The engine.
    threads : int, optional
        DuckDB threads / Spark local cores. ``None``: all cores.
    """

    def __init__(self, name: str = "duckdb", threads: int | None = None):
        if name not in ENGINES:
            raise EngineError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")
        self.name = name
        self._temp: list[tuple[str, str]] = []
        self._frames: dict[str, object] = {}
        self._owned_session = False
        if name == "duckdb":
            self.con = ibis.duckdb.connect()
            raw = self.con.con
            if threads:
                raw.execute(f"SET threads = {int(threads)}")
            raw.execute("SET preserve_insertion_order = false")
            # bounded memory: DuckDB spills to a temporary folder beyond this (default 4 GB)
            limit = os.environ.get("COHORTSTAT_DUCKDB_MEMORY_LIMIT", "4GB")
            raw.execute(f"SET memory_limit = '{limit}'")
        else:
            session, owned = _spark_session(threads)
            self._owned_session = owned
            self.session = session
            self.con = ibis.pyspark.connect(session)

    # -- tables -----------------------------------------------------------------------------
    def _name(self, stem: str) -> str:
        return f"cohortstat_{stem}_{os.getpid()}_{next(_counter)}"

    def read_parquet(self, path: Path, stem: str) -> ibis.Table:
        """Register a parquet file (or folder) as a table, read in place."""
        name = self._name(stem)
        if self.name == "duckdb":
            target = f"{path}/*.parquet" if Path(path).is_dir() else str(path)
            quoted = target.replace("'", "''")
            self.con.con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{quoted}')")
        else:
            self.session.read.parquet(str(path)).createOrReplaceTempView(name)
        self._temp.append(("view", name))
        return self.con.table(name)

    def read_csv(self, path: Path, stem: str, sep: str = ";") -> ibis.Table:
        """Register a CSV file with a header line as a table of strings (empty fields are null)."""
        name = self._name(stem)
        if self.name == "duckdb":
            quoted = str(path).replace("'", "''")
            self.con.con.execute(
                f"CREATE VIEW \"{name}\" AS SELECT * FROM read_csv('{quoted}', delim = '{sep}', "
                "header = true, all_varchar = true, quote = '\"')"
            )
        else:
            self.session.read.option("header", True).option("sep", sep).csv(str(path)).createOrReplaceTempView(name)
        self._temp.append(("view", name))
        return self.con.table(name)

    def lookup(self, frame: pd.DataFrame, stem: str) -> ibis.Table:
        """Register a small pandas frame (a lookup table) as data, not as SQL text."""
        name = self._name(stem)
        if self.name == "duckdb":
            self.con.con.register(name, frame)
            self._temp.append(("registered", name))
        else:
            self.session.createDataFrame(frame).createOrReplaceTempView(name)
            self._temp.append(("view", name))
        return self.con.table(name)

    def materialize(self, expr: ibis.Table, stem: str) -> ibis.Table:
        """Compute ``expr`` once and return a table that reads the stored result."""
        name = self._name(stem)
        sql = self.con.compile(expr)
        if self.name == "duckdb":
            self.con.con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}')
            self._temp.append(("table", name))
        else:
            # persisted lazily: the first query that reads the view fills the cache
            frame = self.session.sql(sql).persist()
            frame.createOrReplaceTempView(name)
            self._frames[name] = frame
            self._temp.append(("persisted", name))
        return self.con.table(name)

    def to_pandas(self, expr) -> pd.DataFrame:
        """Execute an expression and return a pandas DataFrame.

        On DuckDB the Arrow result is converted column by column and released as it goes, which
        keeps the peak memory of a large analysis table near one copy.
        """
        if self.name == "duckdb":
            arrow = self.con.con.sql(self.con.compile(expr)).to_arrow_table()
            return arrow.to_pandas(self_destruct=True, split_blocks=True, date_as_object=False)
        return expr.to_pandas()

    def close(self) -> None:
        """Drop every temporary table; stop the Spark session if this engine started it."""
        for kind, name in reversed(self._temp):
            try:
                if self.name == "duckdb":
                    if kind == "registered":
                        self.con.con.unregister(name)
                    elif kind == "view":
                        self.con.con.execute(f'DROP VIEW IF EXISTS "{name}"')
                    else:
                        self.con.con.execute(f'DROP TABLE IF EXISTS "{name}"')
                else:
                    if kind == "persisted":
                        self._frames.pop(name).unpersist()
                    self.session.catalog.dropTempView(name)
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
        self._temp.clear()
        if self.name == "duckdb":
            self.con.disconnect()
        elif self._owned_session:
            self.session.stop()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
