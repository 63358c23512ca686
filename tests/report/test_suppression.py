"""Small-cell suppression: primary, secondary (partitions, attrition chains) and the disclosure scan."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from cohortstat.report.suppression import (
    SECONDARY,
    is_count_field,
    scan_outputs,
    suppress_attrition,
    suppress_partition,
    suppress_value,
)


def test_primary_suppression_of_each_small_count():
    assert [suppress_value(v, 10) for v in range(0, 12)] == [0] + ["<10"] * 9 + [10, 11]
    assert suppress_value(3, 5) == "<5"
    assert suppress_value(np.int64(4), 5) == "<5"
    assert suppress_value(12.0, 10) == 12 and isinstance(suppress_value(12.0, 10), int)
    assert suppress_value(0.37, 10) == "<10"  # a fractional weighted count is still small


def test_partition_hides_the_complement_of_a_single_small_cell():
    # male 3 / female 50 / (3 levels): the smallest other non-zero cell goes too
    assert suppress_partition([3, 50, 47], 10) == [True, False, True]
    assert suppress_partition([0, 5, 100], 10) == [False, True, True]
    # two small cells whose sum is still small: a third cell must go
    assert suppress_partition([2, 3, 40, 60], 10) == [True, True, True, False]
    assert suppress_partition([20, 30], 10) == [False, False]
    assert suppress_partition([0, 0, 30], 10) == [False, False, False]


def test_attrition_small_exclusion_is_pooled_with_the_next_step():
    att = pd.DataFrame({"step": [0, 1, 2], "rule_id": ["entry", "a", "b"], "description": ["e", "a", "b"],
                        "n_s": [100, 97, 60], "n_t": [500, 400, 300]})
    out = suppress_attrition(att, ["s", "t"], 10)
    assert list(out["n_s"]) == [100, SECONDARY, 60]
    assert list(out["excluded_s"]) == [None, "<10", SECONDARY]
    assert list(out["n_t"]) == [500, 400, 300]
    assert list(out["excluded_t"]) == [None, 100, 100]


def test_attrition_small_exclusion_at_the_last_step_pools_backwards():
    att = pd.DataFrame({"step": [0, 1, 2], "rule_id": ["entry", "a", "b"], "description": ["e", "a", "b"],
                        "n_s": [100, 60, 58]})
    out = suppress_attrition(att, ["s"], 10)
    assert list(out["n_s"]) == [100, SECONDARY, 58]
    assert list(out["excluded_s"]) == [None, SECONDARY, "<10"]


def test_attrition_small_remaining_hides_its_exclusion():
    att = pd.DataFrame({"step": [0, 1], "rule_id": ["entry", "a"], "description": ["e", "a"], "n_s": [40, 4]})
    out = suppress_attrition(att, ["s"], 10)
    assert list(out["n_s"]) == [40, "<10"]
    assert list(out["excluded_s"]) == [None, SECONDARY]


def test_count_fields_of_the_results_model():
    for name in ("n", "n_sepsis", "excluded_trauma", "events", "n_events", "competing_events", "n_risk", "count"):
        assert is_count_field(name), name
    for name in ("rate", "person_years", "hr", "p", "smd", "pct_sepsis", "year"):
        assert not is_count_field(name), name


def _write_safe(folder):
    (folder / "figures").mkdir(parents=True)
    pd.DataFrame({"group": ["a", "b"], "events": ["<10", 25], "rate": [1.5, 3.2]}).to_csv(folder / "t.csv", index=False)
    (folder / "results.json").write_text(json.dumps({"rates": [{"events": "<10", "rate": 2.0}, {"n": 0}]}))
    (folder / "report.html").write_text('<table><tr><td class="count">&lt;10</td><td>5.3</td></tr></table>')
    (folder / "figures" / "a.svg").write_text('<svg><g id="count-risk-0-1"><text>1,234</text></g></svg>')


def test_scan_passes_a_suppressed_folder(tmp_path):
    _write_safe(tmp_path)
    assert scan_outputs(tmp_path, 10) == []


def test_scan_finds_each_kind_of_disclosure(tmp_path):
    _write_safe(tmp_path)
    pd.DataFrame({"n_sepsis": [3]}).to_csv(tmp_path / "bad.csv", index=False)
    (tmp_path / "bad.json").write_text(json.dumps({"outcomes": {"lung": {"n_events": 7}}}))
    (tmp_path / "bad.html").write_text('<p><span class="count">8</span></p>')
    (tmp_path / "figures" / "bad.svg").write_text('<svg><g id="count-risk-1-3"><text>2</text></g></svg>')
    pd.DataFrame({"person_key": ["x"], "n": [100]}).to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "ids.json").write_text(json.dumps({"note": "patient P0000123456 was odd"}))
    problems = scan_outputs(tmp_path, 10, identifiers=["P0000123456"])
    text = "\n".join(problems)
    assert "bad.csv" in text and "'n_sepsis' shows 3" in text
    assert "bad.json" in text and "n_events" in text
    assert "bad.html" in text
    assert "bad.svg" in text
    assert "patient-level column 'person_key'" in text
    assert "patient identifier 'P0000123456'" in text
    assert len(problems) == 6


def test_scan_detects_an_attrition_chain_that_reveals_a_hidden_exclusion(tmp_path):
    pd.DataFrame({"step": [0, 1], "n_s": [100, 97], "excluded_s": [None, "<10"]}).to_csv(
        tmp_path / "attrition.csv", index=False
    )
    problems = scan_outputs(tmp_path, 10)
    assert len(problems) == 1 and "revealed by n_s" in problems[0]


def test_scan_respects_another_minimum(tmp_path):
    pd.DataFrame({"events": [12]}).to_csv(tmp_path / "t.csv", index=False)
    assert scan_outputs(tmp_path, 10) == []
    assert len(scan_outputs(tmp_path, 20)) == 1


def test_scan_joins_identifiers_from_the_patients_file_inside_duckdb(tmp_path):
    ids = pd.DataFrame({"patient_id": [f"P{i:010d}" for i in range(50_000)]})
    ids.to_parquet(tmp_path / "patients.parquet", index=False)
    out = tmp_path / "out"
    _write_safe(out)
    assert scan_outputs(out, 10, identifiers=tmp_path / "patients.parquet") == []
    (out / "leak.json").write_text(json.dumps({"note": "see P0000012345 and P0000049999"}))
    problems = scan_outputs(out, 10, identifiers=tmp_path / "patients.parquet")
    assert sorted(problems) == sorted(scan_outputs(out, 10, identifiers=ids["patient_id"]))
    assert len(problems) == 2 and all("leak.json" in p for p in problems)


def test_scan_reads_the_input_row_counts_of_the_lock(tmp_path):
    lock = {"data_fingerprint": {"patients": {"rows": 6, "content_hash": "1"}, "stays": {"rows": 40, "content_hash": "2"}}}
    (tmp_path / "study.lock.json").write_text(json.dumps(lock))
    problems = scan_outputs(tmp_path, 10)
    assert len(problems) == 1 and "patients" in problems[0]
