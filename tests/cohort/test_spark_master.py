"""The Spark master setting: a cluster master (``local-cluster``: executors in their own JVMs) builds the
same cohort as DuckDB; masters are read into cores and shuffle sizes; an active session on another master
is refused."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cohortstat.cohort import build_cohort
from cohortstat.data import synth
from cohortstat.engines import Engine, _master_and_cores
from cohortstat.errors import EngineError
from tests.cohort.conftest import STUDY

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "local-cluster[2,1,1024]"


def _no_spark() -> str:
    """Why a Spark cluster cannot start here ('' when it can)."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install cohortstat[spark])"
    home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (home and Path(home, "bin", "java").is_file()):
        return "no Java runtime: Spark needs Java 17 (java on PATH or JAVA_HOME)"
    return ""


@pytest.mark.parametrize("threads, master, expected", [
    (None, "local[3]", ("local[3]", 3)), (2, None, ("local[2]", 2)), (5, "local[2]", ("local[2]", 2)),
    (None, "local-cluster[2,1,1024]", ("local-cluster[2,1,1024]", 2)),
    (None, "local-cluster[3,2,512]", ("local-cluster[3,2,512]", 6)),
    (4, "spark://127.0.0.1:7077", ("spark://127.0.0.1:7077", 4)),
])
def test_master_and_cores(threads, master, expected):
    assert _master_and_cores(threads, master) == expected
    machine = os.cpu_count() or 2
    assert _master_and_cores(None, "local[*]") == ("local[*]", machine)
    assert _master_and_cores(None, None) == (f"local[{machine}]", machine)


def test_a_wrong_master_is_refused_by_the_engine():
    with pytest.raises(EngineError, match=r"spark_master: invalid Spark master 'yarn': use local\[N\]"):
        Engine.create("spark", spark_master="yarn")


@pytest.mark.spark
@pytest.mark.skipif(bool(_no_spark()), reason=_no_spark() or "-")
def test_an_active_session_on_another_master_is_refused(spark_session):
    with pytest.raises(EngineError, match=r"spark_master 'local-cluster\[2,1,1024\]' asked for, but a Spark "
                                          r"session on 'local\[2\]' is already active"):
        Engine.create("spark", spark_master=CLUSTER)


_BUILD = """
import sys
import pandas as pd
from cohortstat.cohort import build_cohort
from cohortstat.engines import _spark_session
from cohortstat.spec import load_study

session, _ = _spark_session(None, "1GB", master=sys.argv[3])
# tiny data: planning, code generation and task start dominate (as in the tests' local session)
session.conf.set("spark.sql.codegen.wholeStage", "false")
session.conf.set("spark.sql.shuffle.partitions", "2")
cohort = build_cohort(load_study(sys.argv[1]), data=sys.argv[2], engine="spark", spark_master=sys.argv[3])
executors = session.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1  # less the driver
pd.to_pickle({"table": cohort.table, "attrition": cohort.attrition, "notes": cohort.notes,
              "master": session.sparkContext.master, "executors": executors}, sys.argv[4])
session.stop()
"""


@pytest.fixture(scope="module")
def small_pmsi(tmp_path_factory):
    return synth.generate(2000, 1, tmp_path_factory.mktemp("cluster") / "data")


@pytest.mark.spark
@pytest.mark.skipif(bool(_no_spark()), reason=_no_spark() or "-")
def test_a_cluster_master_builds_the_same_cohort_as_duckdb(small_pmsi, tmp_path, study):
    """Two executors in their own JVMs (``local-cluster``), in a fresh process: the JVM of the tests'
    shared local session cannot host a second master."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("COHORTSTAT_SPARK_VERBOSE", None)
    saved = tmp_path / "cohort.pkl"
    done = subprocess.run([sys.executable, "-c", _BUILD, str(STUDY), str(small_pmsi), CLUSTER, str(saved)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    spark = pd.read_pickle(saved)
    assert spark["master"] == CLUSTER and spark["executors"] == 2
    duck = build_cohort(study, data=small_pmsi, engine="duckdb")
    assert len(duck.table) > 500
    pd.testing.assert_frame_equal(spark["table"], duck.table, check_exact=True)
    pd.testing.assert_frame_equal(spark["attrition"], duck.attrition, check_exact=True)
    assert spark["notes"] == duck.notes
