"""Shared fixtures of the cohort tests: one Spark session for the whole run, hand-built datasets."""

from __future__ import annotations

import pytest

from pathlib import Path

from cohortstat.cohort import build_cohort
from cohortstat.data import synth
from cohortstat.spec import load_study
from tests.cohort import fixtures

STUDY = Path(__file__).resolve().parents[2] / "studies" / "sepsis_cancer.yaml"
#: the synthetic population written in every layout (every group has events of every outcome)
N, SEED = 3000, 1


def pytest_collection_modifyitems(items):  # noqa: D103 - tag spark-parametrised tests
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()) and "[spark" in item.nodeid:
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session (2 cores, small shuffles) shared by every Spark test."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("cohortstat-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # tiny data: planning and code generation dominate (docs/engines.md)
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=["duckdb", "spark"])
def engine(request):
    """Every cohort test runs on both engines against the same expected frame."""
    if request.param == "spark":
        request.getfixturevalue("spark_session")
    return request.param


@pytest.fixture(scope="session")
def main_data(tmp_path_factory):
    return fixtures.write_dataset(
        tmp_path_factory.mktemp("main"), fixtures.MAIN_PATIENTS, fixtures.MAIN_STAYS
    )


@pytest.fixture(scope="session")
def fu_data(tmp_path_factory):
    return fixtures.write_dataset(
        tmp_path_factory.mktemp("fu"), fixtures.FU_PATIENTS, fixtures.FU_STAYS
    )


@pytest.fixture(scope="session")
def layouts(tmp_path_factory):
    """The same synthetic population in the three layouts (+ the SNDS layout as ';' CSV files)."""
    root = tmp_path_factory.mktemp("layouts")
    out = {lay: synth.generate(N, SEED, root / lay, layout=lay) for lay in ("pmsi", "snds", "omop")}
    out["snds_csv"] = synth.generate(N, SEED, root / "snds_csv", layout="snds", csv=True)
    return out


@pytest.fixture(scope="session")
def study():
    return load_study(STUDY)


@pytest.fixture(scope="session")
def reference(layouts, study):
    return build_cohort(study, data=layouts["pmsi"], engine="duckdb")
