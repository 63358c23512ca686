"""Pooled attrition and Table 1 from suppressed site tables; the package manifest."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cohortstat.sites.errors import SitePackageError
from cohortstat.sites.manifest import verify_manifest, write_manifest
from cohortstat.sites.pooled_tables import pool_attrition, pool_table_one, pooled_count


def test_pooled_count_exact_range_and_lower_bound():
    assert pooled_count([12, 30, 0], 10) == 42
    assert pooled_count([12, "<10", "<10"], 10) == "14-30"  # each hidden cell 1..9
    assert pooled_count([12, "*", "<10"], 10) == ">=13"
    assert pooled_count([None, None], 10) is None


def test_attrition_narrows_suppressed_cells_with_remaining_equals_previous_minus_excluded():
    site1 = [{"rule_id": "entry", "n_a": 100, "excluded_a": None},
             {"rule_id": "adult", "n_a": "*", "excluded_a": "<10"},
             {"rule_id": "alive", "n_a": 80, "excluded_a": "*"}]
    site2 = [{"rule_id": "entry", "n_a": 50, "excluded_a": None},
             {"rule_id": "adult", "n_a": 45, "excluded_a": "<10"},
             {"rule_id": "alive", "n_a": 40, "excluded_a": 5}]
    out = pool_attrition([site1, site2], ["a"], 10).set_index("rule_id")
    # site1: adult n in 100 - [1, 9] = [91, 99]; alive excluded = [91, 99] - 80 = [11, 19]
    # site2: adult excluded = 50 - 45 = 5 exactly (narrowed from <10)
    assert out.loc["entry", "n_a"] == 150
    assert out.loc["adult", "n_a"] == "136-144"
    assert out.loc["adult", "excluded_a"] == "6-14"
    assert out.loc["alive", "n_a"] == 120
    assert out.loc["alive", "excluded_a"] == "16-24"
    assert list(out["sites"]) == [2, 2, 2]


def test_table_one_pools_means_and_sds_exactly():
    rng = np.random.default_rng(9)
    xs = [rng.normal(60, 10, 40), rng.normal(55, 12, 25)]
    ys = [rng.normal(50, 9, 30), rng.normal(52, 8, 35)]
    sites = []
    for x, y in zip(xs, ys):
        sites.append([
            {"variable": "Patients", "kind": "n", "level": "", "n_e": len(x), "n_r": len(y)},
            {"variable": "Age", "kind": "continuous", "level": "mean (SD)", "mean_e": x.mean(), "sd_e": x.std(ddof=1),
             "mean_r": y.mean(), "sd_r": y.std(ddof=1)},
            {"variable": "Sex", "kind": "categorical", "level": "female", "n_e": 20, "n_r": "<10"},
        ])
    out = pool_table_one(sites, ["e", "r"], 10).set_index("variable")
    allx, ally = np.concatenate(xs), np.concatenate(ys)
    assert out.loc["Patients", "n_e"] == 65
    assert out.loc["Age", "mean_e"] == pytest.approx(allx.mean(), rel=1e-12)
    assert out.loc["Age", "sd_e"] == pytest.approx(allx.std(ddof=1), rel=1e-12)
    assert out.loc["Age", "sd_r"] == pytest.approx(ally.std(ddof=1), rel=1e-12)
    smd = (allx.mean() - ally.mean()) / math.sqrt((allx.var(ddof=1) + ally.var(ddof=1)) / 2)
    assert out.loc["Age", "smd"] == pytest.approx(smd, rel=1e-12)
    assert out.loc["Sex", "n_e"] == 40 and out.loc["Sex", "pct_e"] == pytest.approx(100 * 40 / 65)
    assert out.loc["Sex", "n_r"] == "2-18" and math.isnan(out.loc["Sex", "pct_r"])


def test_table_one_mean_left_empty_when_a_group_size_is_hidden():
    sites = [[{"variable": "Patients", "kind": "n", "level": "", "n_e": "<10", "n_r": 30},
              {"variable": "Age", "kind": "continuous", "level": "m", "mean_e": 60.0, "sd_e": 5.0, "mean_r": 50.0,
               "sd_r": 4.0}],
             [{"variable": "Patients", "kind": "n", "level": "", "n_e": 20, "n_r": 30},
              {"variable": "Age", "kind": "continuous", "level": "m", "mean_e": 62.0, "sd_e": 5.0, "mean_r": 52.0,
               "sd_r": 4.0}]]
    out = pool_table_one(sites, ["e", "r"], 10).set_index("variable")
    assert math.isnan(out.loc["Age", "mean_e"]) and out.loc["Age", "mean_r"] == pytest.approx(51.0)


def test_manifest_detects_changed_missing_and_added_files(tmp_path):
    (tmp_path / "a.json").write_text('{"x": 1}')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.csv").write_text("x\n1\n")
    h = write_manifest(tmp_path)
    assert verify_manifest(tmp_path) == h and len(h) == 64
    (tmp_path / "a.json").write_text('{"x": 2}')
    (tmp_path / "sub" / "b.csv").unlink()
    (tmp_path / "c.txt").write_text("new")
    with pytest.raises(SitePackageError) as err:
        verify_manifest(tmp_path)
    msg = str(err.value)
    assert "a.json: content changed" in msg and "sub/b.csv: missing" in msg and "c.txt: not in the manifest" in msg


def test_manifest_required(tmp_path):
    with pytest.raises(SitePackageError, match="not a cohortstat site package"):
        verify_manifest(tmp_path)
