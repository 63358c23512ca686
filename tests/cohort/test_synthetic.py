"""The builder on the project's synthetic data: the generator's truth, and DuckDB/Spark parity."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cohortstat.cohort import build_cohort
from cohortstat.data.synth import TRUTH_OUTCOMES, generate, ground_truth_table
from cohortstat.spec import load_study

STUDY = Path(__file__).resolve().parents[2] / "studies" / "sepsis_cancer.yaml"
N, SEED = 20_000, 1
OUTCOMES = ("lung", "skin", "oropharynx", "breast", "all_cancers")
COMPARED = (["exposure", "index_admission", "index_discharge", "age", "sex", "calendar_year",
             "charlson", "tobacco", "alcohol"]
            + [f"{p}_{o}" for o in OUTCOMES for p in ("time", "event")])


@pytest.fixture(scope="module")
def synth20k(tmp_path_factory):
    return generate(N, SEED, tmp_path_factory.mktemp("synth20k"))


@pytest.fixture(scope="module")
def duckdb_cohort(synth20k):
    return build_cohort(load_study(STUDY.read_text()), data=synth20k, engine="duckdb")


def test_attrition_matches_truth_json(synth20k, duckdb_cohort):
    counts = json.loads((synth20k / "truth.json").read_text())["counts"]
    att = duckdb_cohort.attrition.set_index("rule_id")
    assert att.loc["entry", "n_sepsis"] == counts["index_exposed"]
    assert att.loc["entry", "n_trauma"] == counts["index_reference"]
    assert att.loc["in_both", "excluded_sepsis"] == counts["both"]
    assert att.loc["in_both", "excluded_trauma"] == counts["both"]
    assert att.loc["in_both", "n_sepsis"] == counts["index_exposed_only"]
    assert att.loc["in_both", "n_trauma"] == counts["index_reference_only"]


def test_table_matches_generator_ground_truth(duckdb_cohort):
    """Same rows (as a multiset: the builder does not give out patient ids) as the table the
    generator derives from its latent simulation, Charlson and flags included."""
    assert set(OUTCOMES) <= set(TRUTH_OUTCOMES)
    truth = ground_truth_table(N, SEED)
    mine = duckdb_cohort.table[COMPARED]
    theirs = truth[COMPARED].copy()
    for col in ("index_admission", "index_discharge"):
        theirs[col] = pd.to_datetime(theirs[col]).astype("datetime64[ns]")
    theirs = theirs.astype(mine.dtypes.to_dict())
    mine = mine.sort_values(COMPARED).reset_index(drop=True)
    theirs = theirs.sort_values(COMPARED).reset_index(drop=True)
    assert len(mine) > 10_000
    pd.testing.assert_frame_equal(mine, theirs)


@pytest.mark.slow
@pytest.mark.spark
def test_duckdb_spark_parity_20k(synth20k, duckdb_cohort, spark_session):
    spark = build_cohort(load_study(STUDY.read_text()), data=synth20k, engine="spark")
    pd.testing.assert_frame_equal(spark.table, duckdb_cohort.table)
    pd.testing.assert_frame_equal(spark.attrition, duckdb_cohort.attrition)
    assert spark.notes == duckdb_cohort.notes
