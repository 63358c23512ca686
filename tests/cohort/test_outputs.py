"""Output contract: columns, no patient identifier, parquet file, progress, Charlson coding."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from cohortstat.cohort import build_cohort, charlson, output_columns
from cohortstat.spec import load_study
from tests.cohort import fixtures


@pytest.fixture(scope="module")
def built(main_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "analysis.parquet"
    calls = []
    cohort = build_cohort(load_study(fixtures.main_study_text()), data=main_data, out=out,
                          progress=lambda i, n, msg: calls.append((i, n, msg)))
    return cohort, out, calls


def test_columns_and_no_identifier(built):
    cohort, _, _ = built
    study = load_study(fixtures.main_study_text())
    assert list(cohort.table.columns) == output_columns(study)
    assert len([c for c in cohort.table.columns if c.startswith("cci_")]) == 17
    text = cohort.table.astype(str).to_csv()
    assert "P0" not in text and "S0" not in text  # no patient or stay identifier leaves
    assert cohort.table["person_key"].is_unique
    with pytest.raises(dataclasses.FrozenInstanceError):
        cohort.notes = ()


def test_parquet_output_round_trips(built):
    cohort, out, _ = built
    back = pd.read_parquet(out)
    for col in ("index_admission", "index_discharge", "follow_up_start"):
        back[col] = pd.to_datetime(back[col]).astype("datetime64[ns]")
    pd.testing.assert_frame_equal(back, cohort.table)


def test_progress_callback_per_step(built):
    _, _, calls = built
    assert [c[0] for c in calls] == list(range(1, len(calls) + 1))
    assert calls[-1][0] == calls[-1][1]
    assert "inclusion rules and follow-up applied" in [c[2] for c in calls]


def test_charlson_coding_quan_2005():
    assert len(charlson.COMPONENTS) == 17
    assert sum(charlson.WEIGHTS.values()) == 33  # 10 x 1 + 4 x 2 + 3 + 2 x 6 (Charlson 1987)
    assert charlson.prefixes("chf") == ("I099", "I110", "I130", "I132", "I255", "I420", "I425",
                                        "I426", "I427", "I428", "I429", "I43", "I50", "P290")
    assert charlson.prefixes("metacanc") == ("C77", "C78", "C79", "C80")
    canc = charlson.prefixes("canc")
    assert "C44" not in canc and "C43" in canc and "C77" not in canc and "C97" in canc
    assert "E112" in charlson.prefixes("diabwc") and "E119" in charlson.prefixes("diab")
    assert dict(charlson.HIERARCHY) == {"diabwc": "diab", "metacanc": "canc", "msld": "mld"}


def test_rich_progress_display(main_data, capsys):
    cohort = build_cohort(load_study(fixtures.main_study_text()), data=main_data, progress=True)
    assert len(cohort.table) == 21
