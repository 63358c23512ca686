"""``cohortstat synth --sites K``: one data folder per site, site-specific size and case mix, reproducible."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.errors import ReportError
from cohortstat.sites.synth import site_plan
from tests.core_study import core_study_path


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.parquet"))}


def test_synth_sites_writes_one_folder_per_site(tmp_path):
    r = CliRunner().invoke(app, ["synth", "--sites", "3", "--patients", "3000", "--seed", "2", "--out",
                                 str(tmp_path / "net")])
    assert r.exit_code == 0, r.output
    net = json.loads((tmp_path / "net" / "network.json").read_text())
    names = [s["name"] for s in net["sites"]]
    assert names == ["site_a", "site_b", "site_c"]
    sizes = []
    for s in net["sites"]:
        folder = tmp_path / "net" / s["name"]
        pts = pd.read_parquet(folder / "patients.parquet")
        stays = pd.read_parquet(folder / "stays.parquet")
        assert set(stays["patient_id"]) <= set(pts["patient_id"])  # thinning keeps whole patients
        assert len(pts) == s["kept"]["rows_patients"]
        assert json.loads((folder / "truth.json").read_text())["site"]["name"] == s["name"]
        sizes.append(len(pts))
    assert sizes[2] < sizes[0] / 3  # the small site
    total = 3000 + round(0.3 * 3000)  # the requested patients and the nonsevere-infection group
    assert abs(sum(sizes) - total) < 0.25 * total  # thinning aims at the requested total
    ids = [set(pd.read_parquet(tmp_path / "net" / n / "patients.parquet")["patient_id"]) for n in names]
    assert not (ids[0] & ids[1])  # different hospitals, different patients
    again = tmp_path / "again"
    CliRunner().invoke(app, ["synth", "--sites", "3", "--patients", "3000", "--seed", "2", "--out", str(again)])
    assert _digest(tmp_path / "net") == _digest(again)  # same seed, same bytes


def test_site_plan_is_reproducible_and_validated():
    assert site_plan(4, 20000, 1) == site_plan(4, 20000, 1)
    assert site_plan(4, 20000, 1)[0]["seed"] != site_plan(4, 20000, 2)[0]["seed"]
    with pytest.raises(ReportError, match="--sites"):
        site_plan(1, 1000, 0)


def test_synth_needs_patients_without_sites(tmp_path):
    r = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "--patients" in r.output


def test_run_rejects_a_bad_site_name_before_running(tmp_path):
    study = core_study_path()
    r = CliRunner().invoke(app, ["run", str(study), "--data", str(tmp_path / "nodata"), "--out", str(tmp_path / "o"),
                                 "--site", "../etc"])
    assert r.exit_code == 2 and "--site" in r.output and not (tmp_path / "o").exists()
