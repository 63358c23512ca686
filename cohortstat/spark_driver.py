"""The Spark driver seen from Python: a large result handed over without the driver's heap, and a
driver that stops (out of memory, most often) turned into an :class:`EngineError`, never a hang.

Why this exists. A result collected with ``toPandas`` passes whole through the driver JVM's heap. When
the heap runs out there, Spark reacts in one of three ways, depending on the thread that hit it: the
JVM exits (an executor thread in local mode, exit code 52), the context shuts down and the Python call
gets "SparkContext was shut down", or - in Spark's own ``task-result-getter`` thread - the thread
dies, the job never completes and the collection waits forever. The driver cohortstat starts runs
with ``-XX:+ExitOnOutOfMemoryError`` (:data:`DRIVER_JAVA_OPTIONS`), so the last case becomes an exit
(code 3); :func:`driver_guard` turns every one of them into an :class:`EngineError` that names the
driver memory and how to raise it. :func:`collect_through_files` avoids the heap altogether when the
driver and the executors share this machine's file system.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from cohortstat.errors import EngineError

#: JVM options of every driver cohortstat starts: an out-of-memory error anywhere ends the JVM (a
#: dead Spark thread would otherwise leave a collection waiting forever)
DRIVER_JAVA_OPTIONS = "-XX:+ExitOnOutOfMemoryError"
#: driver exit codes that mean "out of memory": the JVM option above, Spark's own handler
OOM_EXIT_CODES = {3: "-XX:+ExitOnOutOfMemoryError", 52: "Spark's out-of-memory exit"}
_OOM_SAID = ("java.lang.OutOfMemoryError", "spark.driver.maxResultSize")
_SHUT_DOWN_SAID = "SparkContext was shut down"
_LOST_SAID = ("Py4JNetworkError", "Connection refused", "Connection reset", "Answer from Java side is empty")
#: seconds to wait for a driver to finish exiting (its exit code says why): after the connection to it
#: broke, and after its context was shut down (Spark's own out-of-memory handler then exits it)
_EXIT_WAIT = {"lost": 15.0, "shut down": 3.0}
_MEMORY_HELP = ("--memory-limit (e.g. --memory-limit 12GB), memory_limit: in the run profile, or the "
                "COHORTSTAT_SPARK_DRIVER_MEMORY variable (a new Spark session only)")


def driver_process():
    """The driver JVM process this Python process launched (a ``Popen``), or None (none launched)."""
    try:
        from pyspark import SparkContext
    except ImportError:  # pragma: no cover - depends on the install
        return None
    return getattr(SparkContext._gateway, "proc", None)


def driver_exit_code(wait: float = 0.0) -> int | None:
    """The exit code of the driver JVM, waiting up to ``wait`` seconds; None while it runs."""
    proc = driver_process()
    if proc is None:
        return None
    try:
        return proc.wait(timeout=wait) if wait > 0 else proc.poll()
    except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: still running
        return None


def forget_stopped_driver() -> None:
    """Let a new Spark session start in this process after the driver JVM has exited.

    PySpark keeps its gateway to the first JVM for the life of the process; a dead one would make
    every later session fail with connection errors.
    """
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    SparkContext._gateway = None
    SparkContext._jvm = None
    SparkContext._active_spark_context = None
    SparkSession._instantiatedSession = None
    SparkSession._activeSession = None


class _Py4JOnRoot(logging.Filter):
    """Drops the records py4j logs on the root logger: when the connection to the driver breaks it logs
    "Exception while sending command." there with a whole traceback (``logging.exception``), which
    :func:`driver_guard`'s :class:`EngineError` says instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return f"{os.sep}py4j{os.sep}" not in record.pathname


@contextlib.contextmanager
def _py4j_root_records_dropped():
    root, quiet = logging.getLogger(), _Py4JOnRoot()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


@contextlib.contextmanager
def driver_guard(limit: str | None, doing: str):
    """Run a Spark call; the driver running out of memory or stopping becomes an :class:`EngineError`.

    ``limit`` is the driver memory (None: a session cohortstat did not start), ``doing`` what the call
    does ("collecting the analysis table"). Any other error passes through unchanged. Meanwhile py4j's
    tracebacks on the root logger and PySpark's warning on a failed Arrow collection, which repeat the
    error, are not shown.
    """
    try:
        with _py4j_root_records_dropped(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="toPandas attempted Arrow optimization")
            yield
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        said_oom = any(marker in text for marker in _OOM_SAID)
        # a bare Py4JError (not a Py4JJavaError, which carries the Java exception of a live driver): the
        # call to the driver failed, e.g. the result it was serving vanished with it
        lost = type(exc).__name__ == "Py4JError" or any(m in text for m in _LOST_SAID)
        shut_down = _SHUT_DOWN_SAID in text
        code = driver_exit_code(wait=_EXIT_WAIT["lost"] if lost else _EXIT_WAIT["shut down"] if shut_down else 0.0)
        if not said_oom and code is None and not shut_down:
            raise
        raise EngineError(_stopped_message(limit, doing, text, code, said_oom)) from exc


def _stopped_message(limit: str | None, doing: str, text: str, code: int | None, said_oom: bool) -> str:
    memory = f"driver memory {limit or 'of the active session'}"
    if said_oom or code in OOM_EXIT_CODES:
        cause = next((ln.strip() for ln in text.splitlines() if any(m in ln for m in _OOM_SAID)), "")[:200]
        cause = cause or f"the driver exited with code {code}, {OOM_EXIT_CODES[code]}"
        return (f"the Spark driver ran out of memory {doing} ({memory}; {cause}). Give it more with "
                f"{_MEMORY_HELP}.")
    how = f"exited with code {code}" if code is not None else "shut its context down"
    return (f"the Spark driver stopped {doing}: it {how} ({memory}). Its log lines above say why; the usual "
            f"cause is too little memory: give it more with {_MEMORY_HELP}.")


def collect_through_files(frame, schema) -> pd.DataFrame:
    """A Spark DataFrame as pandas, written by the executors to parquet files in a private temporary
    folder and read back here: the rows never pass through the driver's heap.

    Only for a driver and executors on this machine (``local[N]``, ``local-cluster``). ``schema`` is the
    Arrow schema the columns are cast to (the Ibis expression's), so the dtypes are those of a
    collection through Arrow. The row order is not kept. The folder is removed whatever happens.
    """
    import pyarrow.parquet as pq

    folder = Path(tempfile.mkdtemp(prefix="cohortstat-spark-result-"))
    try:
        frame.write.mode("overwrite").parquet(str(folder / "rows"))
        table = pq.read_table(folder / "rows", schema=schema)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return table.to_pandas(self_destruct=True, split_blocks=True, date_as_object=False)
