"""Engine connections: the one place that knows DuckDB from Spark.

The cohort logic is written once as Ibis expressions (:mod:`cohortstat.cohort.pipeline`). An
:class:`Engine` gives it input tables, small lookup tables (concept prefixes, Charlson coding) and
materialisation of intermediate results. One subclass per backend, made by :meth:`Engine.create`:

- :class:`DuckDBEngine` (``"duckdb"``, default): an in-process DuckDB database; parquet files are read
  in place; ``memory_limit`` becomes DuckDB's ``SET memory_limit`` (it spills to disk beyond it).
- :class:`SparkEngine` (``"spark"``): ``ibis.pyspark`` over a ``SparkSession`` on ``spark_master``
  (default ``local[threads]``; also ``local-cluster[W,C,MB]`` or a standalone cluster
  ``spark://host:port``); an active session is reused when there is one (tests share one session),
  otherwise one is created with ``memory_limit`` as the driver memory and Spark's own log output
  reduced to errors (``verbose=True`` or ``COHORTSTAT_SPARK_VERBOSE=1`` shows it).

Materialisation does not go through ``Table.cache()``: with sqlglot 30 the DROP statements Ibis 12
emits lose their table name (see docs/engines.md), so the engine creates and drops its own temporary
tables. Lookup tables hold ICD-10 prefixes as data, never as SQL text.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import ibis
import ibis.expr.operations as ops
import pandas as pd

from cohortstat.errors import EngineError
from cohortstat.spark_driver import (
    DRIVER_JAVA_OPTIONS,
    collect_through_files,
    driver_exit_code,
    driver_guard,
    forget_stopped_driver,
)

ENGINES = ("duckdb", "spark")
#: the memory limits used when the run profile gives none
DEFAULT_MEMORY = {"duckdb": "4GB", "spark": "4GB"}
#: documented fallbacks, read only when no ``memory_limit`` is passed (library use without a profile)
MEMORY_ENV = {"duckdb": "COHORTSTAT_DUCKDB_MEMORY_LIMIT", "spark": "COHORTSTAT_SPARK_DRIVER_MEMORY"}
#: set to 1 to see Spark's own log output (JVM start, warnings) on stderr
VERBOSE_ENV = "COHORTSTAT_SPARK_VERBOSE"
_MEMORY_RE = re.compile(r"([1-9][0-9]*)\s*([KMGT])(i?B)?", re.IGNORECASE)
_counter = itertools.count()
#: rows per batch of a DuckDB result handed to Arrow
_BATCH_ROWS = 1 << 20


def _memory_limit(engine: str, given: str | None) -> str:
    """The memory limit to apply: the argument, else the documented variable, else the default."""
    value = given or os.environ.get(MEMORY_ENV[engine]) or DEFAULT_MEMORY[engine]
    if not _MEMORY_RE.fullmatch(value.strip()):
        raise EngineError(f"invalid memory limit {value[:30]!r}: write a number and a unit, e.g. 8GB or 512MiB")
    return value.strip()


def release_arrow_memory() -> None:
    """Return the memory of freed Arrow buffers to the system (Arrow's allocator keeps it otherwise).

    Call it once the frames converted from Arrow results have been copied or dropped: a zero-copy
    column keeps its Arrow buffer until then."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def spark_memory(limit: str) -> str:
    """A memory limit as Spark writes it: ``8GB`` -> ``8g``, ``512MiB`` -> ``512m`` (``4g`` unchanged)."""
    match = _MEMORY_RE.fullmatch(limit.strip())
    if match is None:
        raise EngineError(f"invalid memory limit {limit[:30]!r}: write a number and a unit, e.g. 8GB or 512MiB")
    return match.group(1) + match.group(2).lower()


class Engine:
    """A backend connection plus the temporary tables made on it (base class).

    Make one with :meth:`Engine.create`; the public methods are shared, each subclass supplies the
    backend statements (``_register_*``, ``_store``, ``_drop``, ``_shutdown``).

    Attributes
    ----------
    name : str
        ``"duckdb"`` or ``"spark"``.
    con : ibis backend
        The Ibis connection the cohort expressions run on.
    """

    name: str = ""
    #: the kinds of temporary table that :meth:`materialize` stores (see ``_store``)
    _stored_kinds: tuple[str, ...] = ()
    #: does :meth:`release` free a table at once
    _releases_now: bool = False

    def __init__(self) -> None:
        self._temp: list[tuple[str, str]] = []

    @staticmethod
    def create(name: str = "duckdb", threads: int | None = None, memory_limit: str | None = None,
               verbose: bool = False, spark_master: str | None = None) -> Engine:
        """The engine called ``name``.

        Parameters
        ----------
        name : {"duckdb", "spark"}
            The engine.
        threads : int, optional
            DuckDB threads / Spark local cores. ``None``: all cores.
        memory_limit : str, optional
            ``8GB``, ``512MiB``: DuckDB's memory limit / Spark's driver memory. ``None``: the
            environment variable of :data:`MEMORY_ENV` if set, else 4 GB.
        verbose : bool
            Spark only: keep Spark's own log output on stderr (default: errors only).
        spark_master : str, optional
            Spark only: the master of a new session, ``local[N]``, ``local[*]``,
            ``local-cluster[W,C,MB]`` or ``spark://host:port``. ``None``: ``local[threads]``.
            DuckDB ignores it.
        """
        kinds = {"duckdb": DuckDBEngine, "spark": SparkEngine}
        if name not in kinds:
            raise EngineError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")
        if name == "duckdb":
            return DuckDBEngine(threads=threads, memory_limit=memory_limit, verbose=verbose)
        return SparkEngine(threads=threads, memory_limit=memory_limit, verbose=verbose, master=spark_master)

    # -- tables -----------------------------------------------------------------------------
    def _name(self, stem: str) -> str:
        return f"cohortstat_{stem}_{os.getpid()}_{next(_counter)}"

    def read_parquet(self, path: Path, stem: str) -> ibis.Table:
        """Register a parquet file (or folder) as a table, read in place."""
        name = self._name(stem)
        self._temp.append((self._register_parquet(Path(path), name), name))
        return self.con.table(name)

    def read_csv(self, path: Path, stem: str, sep: str = ";") -> ibis.Table:
        """Register a CSV file with a header line as a table of strings (empty fields are null)."""
        name = self._name(stem)
        self._temp.append((self._register_csv(Path(path), name, sep), name))
        return self.con.table(name)

    def lookup(self, frame: pd.DataFrame, stem: str) -> ibis.Table:
        """Register a small pandas frame (a lookup table) as data, not as SQL text."""
        name = self._name(stem)
        self._temp.append((self._register_frame(frame, name), name))
        return self.con.table(name)

    def materialize(self, expr: ibis.Table, stem: str) -> ibis.Table:
        """Compute ``expr`` once and return a table that reads the stored result.

        A table this engine stored already (a source may store its relations itself) is returned
        as it is, not copied.
        """
        if self._stored_name(expr) is not None:
            return expr
        name = self._name(stem)
        self._temp.append((self._store(self.con.compile(expr), name), name))
        return self.con.table(name)

    def release(self, table: ibis.Table) -> None:
        """Free a table stored by :meth:`materialize` that nothing will read any more.

        DuckDB drops it now (its memory is returned). Spark stores lazily, so a table computed
        from this one may not be computed yet: it is kept until :meth:`close`.
        """
        name = self._stored_name(table)
        if name is None or not self._releases_now:
            return
        kind = next(k for k, n in self._temp if n == name)
        self._temp.remove((kind, name))
        self._drop(kind, name)

    def _stored_name(self, expr) -> str | None:
        """The name of the stored table that ``expr`` is exactly, else None."""
        op = expr.op()
        name = getattr(op, "name", None) if isinstance(op, ops.DatabaseTable) else None
        return name if any(n == name and k in self._stored_kinds for k, n in self._temp) else None

    def to_pandas(self, expr, drop: tuple[str, ...] = (), large: bool = False) -> pd.DataFrame:
        """Execute an expression and return a pandas DataFrame, without the columns ``drop`` (the
        rows keep the expression's order unless ``large``: a result too large for one copy in the
        Spark driver's memory, see :meth:`SparkEngine.to_pandas`)."""
        return expr.to_pandas().drop(columns=list(drop))

    def close(self) -> None:
        """Drop every temporary table, then close the connection (see ``_shutdown``)."""
        for kind, name in reversed(self._temp):
            try:
                self._drop(kind, name)
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
        self._temp.clear()
        self._shutdown()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- backend statements (subclasses) --------------------------------------------------------
    def _register_parquet(self, path: Path, name: str) -> str:
        raise NotImplementedError

    def _register_csv(self, path: Path, name: str, sep: str) -> str:
        raise NotImplementedError

    def _register_frame(self, frame: pd.DataFrame, name: str) -> str:
        raise NotImplementedError

    def _store(self, sql: str, name: str) -> str:
        raise NotImplementedError

    def _drop(self, kind: str, name: str) -> None:
        raise NotImplementedError

    def _shutdown(self) -> None:
        raise NotImplementedError


class DuckDBEngine(Engine):
    """An in-process DuckDB database (see :meth:`Engine.create` for the parameters)."""

    name = "duckdb"
    _stored_kinds = ("table",)
    _releases_now = True

    def __init__(self, threads: int | None = None, memory_limit: str | None = None, verbose: bool = False):
        super().__init__()
        limit = self._limit = _memory_limit(self.name, memory_limit)
        self.con = ibis.duckdb.connect()
        raw = self.con.con
        if threads:
            raw.execute(f"SET threads = {int(threads)}")
        raw.execute("SET preserve_insertion_order = false")
        # bounded memory: DuckDB spills to a temporary folder beyond this. DuckDB's own default
        # for an in-memory database is ".tmp" in the current folder (the user's project, possibly
        # read-only): spill into a private folder of the system's temporary directory instead
        self._spill = Path(tempfile.mkdtemp(prefix="cohortstat-duckdb-"))
        raw.execute(f"SET memory_limit = '{limit}'")
        raw.execute(f"SET temp_directory = '{str(self._spill).replace(chr(39), chr(39) * 2)}'")

    def _register_parquet(self, path: Path, name: str) -> str:
        target = f"{path}/*.parquet" if path.is_dir() else str(path)
        quoted = target.replace("'", "''")
        self.con.con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{quoted}')")
        return "view"

    def _register_csv(self, path: Path, name: str, sep: str) -> str:
        quoted = str(path).replace("'", "''")
        self.con.con.execute(
            f"CREATE VIEW \"{name}\" AS SELECT * FROM read_csv('{quoted}', delim = '{sep}', "
            "header = true, all_varchar = true, quote = '\"')"
        )
        return "view"

    def _register_frame(self, frame: pd.DataFrame, name: str) -> str:
        self.con.con.register(name, frame)
        return "registered"

    def _store(self, sql: str, name: str) -> str:
        with self._memory_guard():
            self.con.con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}')
        return "table"

    @contextlib.contextmanager
    def _memory_guard(self):
        """DuckDB's out-of-memory error as an :class:`EngineError` that says how to raise the limit."""
        import duckdb

        try:
            yield
        except duckdb.OutOfMemoryException as exc:
            said = str(exc).splitlines()[0] if str(exc) else "out of memory"
            raise EngineError(
                f"DuckDB ran out of memory under its limit of {self._limit} ({said}). Most steps spill to "
                "disk beyond the limit, this one could not: raise the limit with --memory-limit (e.g. "
                "--memory-limit 8GB), memory_limit: in the run profile, or the "
                f"{MEMORY_ENV['duckdb']} variable; fewer threads (--threads 1) also lower the peak."
            ) from exc

    def to_pandas(self, expr, drop: tuple[str, ...] = (), large: bool = False) -> pd.DataFrame:
        """Execute an expression and return a pandas DataFrame without the columns ``drop`` (``large``
        changes nothing here).

        The Arrow result is converted column by column and released as it goes, which keeps the peak
        memory of a large analysis table near one copy; dropped columns never become Python objects.
        """
        with self._memory_guard():  # streamed: DuckDB holds one batch of the result at a time
            reader = self.con.con.sql(self.con.compile(expr)).to_arrow_reader(_BATCH_ROWS)
            arrow = reader.read_all().drop_columns(list(drop))
        return arrow.to_pandas(self_destruct=True, split_blocks=True, date_as_object=False)

    def _drop(self, kind: str, name: str) -> None:
        if kind == "registered":
            self.con.con.unregister(name)
        elif kind == "view":
            self.con.con.execute(f'DROP VIEW IF EXISTS "{name}"')
        else:
            self.con.con.execute(f'DROP TABLE IF EXISTS "{name}"')

    def _shutdown(self) -> None:
        self.con.disconnect()
        shutil.rmtree(self._spill, ignore_errors=True)


class SparkEngine(Engine):
    """``ibis.pyspark`` over a Spark session (see :meth:`Engine.create` for the parameters)."""

    name = "spark"
    _stored_kinds = ("persisted",)

    def __init__(self, threads: int | None = None, memory_limit: str | None = None, verbose: bool = False,
                 master: str | None = None):
        super().__init__()
        # Spark's scratch space (spilled blocks, shuffle files) in a private folder removed at close,
        # also after a driver that exited without cleaning up (an out-of-memory exit)
        self._scratch: Path | None = Path(tempfile.mkdtemp(prefix="cohortstat-spark-"))
        try:
            self.session, self._owned_session = _spark_session(threads, memory_limit, verbose, master, self._scratch)
        except BaseException:
            self._remove_scratch()
            raise
        if not self._owned_session:  # an active session keeps its own scratch folders
            self._remove_scratch()
        self._limit = self.session.conf.get("spark.driver.memory", None) if self._owned_session else None
        self._frames: dict[str, object] = {}
        self.con = ibis.pyspark.connect(self.session)

    def to_pandas(self, expr, drop: tuple[str, ...] = (), large: bool = False) -> pd.DataFrame:
        """As :meth:`Engine.to_pandas`; the driver running out of memory or stopping is an
        :class:`EngineError` (:func:`~cohortstat.spark_driver.driver_guard`).

        A ``large`` result on a driver with its executors on this machine (``local``,
        ``local-cluster``) is handed over through parquet files, not the driver's heap, and does not
        keep the expression's row order.
        """
        doing = "collecting the analysis table" if large else "collecting a result"
        with driver_guard(self._limit, doing):
            if not (large and self.session.sparkContext.master.startswith("local")):
                return super().to_pandas(expr, drop)
            kept = expr.drop(*drop) if drop else expr
            return collect_through_files(self.session.sql(self.con.compile(kept)), kept.schema().to_pyarrow())

    def _register_parquet(self, path: Path, name: str) -> str:
        self.session.read.parquet(str(path)).createOrReplaceTempView(name)
        return "view"

    def _register_csv(self, path: Path, name: str, sep: str) -> str:
        self.session.read.option("header", True).option("sep", sep).csv(str(path)).createOrReplaceTempView(name)
        return "view"

    def _register_frame(self, frame: pd.DataFrame, name: str) -> str:
        self.session.createDataFrame(frame).createOrReplaceTempView(name)
        return "view"

    def _store(self, sql: str, name: str) -> str:
        # checkpointed lazily: the first query that reads the view computes and keeps the rows (in
        # memory, spilled to disk beyond it), and the plans of the tables computed from it start
        # there. A persisted frame (``persist``/``cache``) would carry its whole plan into every
        # later query: the plans of a multi-step source grew until the driver ran out of memory.
        frame = self.session.sql(sql).localCheckpoint(eager=False)
        frame.createOrReplaceTempView(name)
        self._frames[name] = frame
        return "persisted"

    def _drop(self, kind: str, name: str) -> None:
        if kind == "persisted":
            self._frames.pop(name).unpersist()
        self.session.catalog.dropTempView(name)

    def close(self) -> None:
        """As :meth:`Engine.close`; after the driver JVM has exited, only forget it (nothing to drop)."""
        if self._owned_session and driver_exit_code() is not None:
            self._temp.clear()
            forget_stopped_driver()
            self._remove_scratch()
            return
        super().close()

    def _shutdown(self) -> None:
        if self._owned_session:
            jvm = self.session.sparkContext._jvm
            try:
                self.session.stop()
            finally:
                # the JVM outlives the session, with its start settings as system properties and its
                # scratch folders cached: a later session in this process would make the removed
                # folder again
                with contextlib.suppress(Exception):
                    if jvm.java.lang.System.getProperty("spark.local.dir") == str(self._scratch):
                        jvm.java.lang.System.clearProperty("spark.local.dir")
                    getattr(getattr(jvm.org.apache.spark.util, "Utils$"), "MODULE$").clearLocalRootDirs()
                self._remove_scratch()

    def _remove_scratch(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


_QUIET_LOG4J = """\
# cohortstat: Spark's log output reduced to errors (COHORTSTAT_SPARK_VERBOSE=1 shows it)
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
# Spark's loggers configured explicitly at the root level: no "Setting default log level" banner
logger.spark.name = org.apache.spark
logger.spark.level = error
"""


def _quiet_log4j() -> Path:
    """A log4j2 configuration with the root level at ERROR, in the per-user cache folder."""
    import platformdirs

    folder = Path(platformdirs.user_cache_dir("cohortstat"))
    path = folder / "log4j2-quiet.properties"
    if not path.is_file() or path.read_text(encoding="utf-8") != _QUIET_LOG4J:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".log4j2-quiet.{os.getpid()}.tmp"
        tmp.write_text(_QUIET_LOG4J, encoding="utf-8")
        tmp.replace(path)
    return path


def _verbose(verbose: bool | None) -> bool:
    if verbose:
        return True
    return os.environ.get(VERBOSE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _master_and_cores(threads: int | None, master: str | None) -> tuple[str, int]:
    """The master URL of a new session and the cores it computes on (which sizes the shuffles).

    No master: ``local[threads]`` (all cores by default). ``local[N]``: N; ``local-cluster[W,C,MB]``:
    W x C; a standalone cluster: ``threads`` if given, else the cores of this machine (the cluster
    decides how many it gives; the number only sets the shuffle partitions).
    """
    machine = os.cpu_count() or 2
    if master is None:
        cores = threads or machine
        return f"local[{cores}]", cores
    from cohortstat.spec.profile import check_spark_master

    try:
        check_spark_master(master)
    except ValueError as exc:
        raise EngineError(f"spark_master: {exc}") from None
    inside = master[master.find("[") + 1:-1] if master.startswith("local") else ""
    if master.startswith("local-cluster"):
        workers, cores, _ = (int(v) for v in inside.split(","))
        return master, workers * cores
    if master.startswith("local"):
        return master, machine if inside == "*" else int(inside)
    return master, threads or machine


def _spark_session(threads: int | None, memory_limit: str | None = None, verbose: bool | None = None,
                   master: str | None = None, scratch: Path | None = None):
    """The active Spark session (not owned), or a new one (owned): ``(session, owned)``.

    A new session runs on ``master`` (default ``local[threads]``, see :func:`_master_and_cores`) and
    gets ``memory_limit`` (``8GB``; default as in :meth:`Engine.create`) as its driver memory and as the
    largest result it may collect (``spark.driver.maxResultSize``, 1 GB by Spark's default); on a
    cluster the executors keep the cluster's own settings. ``scratch`` (a folder) becomes the
    driver's ``spark.local.dir``. The driver JVM runs with ``-XX:+ExitOnOutOfMemoryError``
    (:mod:`cohortstat.spark_driver`). Unless ``verbose`` (or
    ``COHORTSTAT_SPARK_VERBOSE=1``), Spark's JVM logs only errors (a log4j2 file passed through
    ``spark.driver.extraJavaOptions`` silences the start-up lines, ``setLogLevel("ERROR")`` the rest)
    and the ``py4j`` Python logger only warnings. An active session on another master than the one
    asked for is an error, not silently used.
    """
    memory = spark_memory(_memory_limit("spark", memory_limit))
    url, cores = _master_and_cores(threads, master)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineError(
            "engine='spark' needs pyspark: install the extra with `pip install cohortstat[spark]`"
        ) from exc
    loud = _verbose(verbose)
    if not loud:
        logging.getLogger("py4j").setLevel(logging.WARNING)
    active = SparkSession.getActiveSession()
    if active is not None:
        running = active.sparkContext.master
        if master is not None and running != master:
            raise EngineError(f"spark_master {master!r} asked for, but a Spark session on {running!r} is already "
                              "active in this process: stop it first, or leave spark_master unset to use it")
        return active, False
    builder = (
        SparkSession.builder.master(url)
        .appName("cohortstat")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(max(2, 2 * cores)))
        .config("spark.driver.memory", memory)
        # the analysis table is collected to the driver: its size is bounded by the driver memory, not by
        # Spark's 1 GB default for a collected result (a 3.9 M-patient table is 1.2 GB)
        .config("spark.driver.maxResultSize", memory)
        # adaptive execution re-plans every small stage of the many short cohort steps: several
        # times slower here (docs/engines.md)
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if scratch is not None:
        builder = builder.config("spark.local.dir", str(scratch))
    options = DRIVER_JAVA_OPTIONS if loud else f"{DRIVER_JAVA_OPTIONS} -Dlog4j2.configurationFile={_quiet_log4j()}"
    builder = builder.config("spark.driver.extraJavaOptions", options)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # pragma: no cover - JVM start failures
        raise EngineError(f"could not start a Spark session on {url} (is Java 17 installed? is the cluster's "
                          f"master running?): {exc}") from exc
    if not loud:
        session.sparkContext.setLogLevel("ERROR")
    return session, True
