"""End to end: a study with sensitivity variants -> one report with every variant's estimates."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from cohortstat.report.suppression import scan_outputs
from cohortstat.run import run
from cohortstat.spec import load_lock, load_study, spec_hash
from tests.core_study import core_study_path

STUDY = core_study_path()


@pytest.mark.filterwarnings("ignore::cohortstat.errors.CohortWarning")  # small data: rare outcomes
def test_run_writes_every_variant(tmp_path):
    from cohortstat.data.synth import generate

    data = generate(2500, 3, tmp_path / "data")
    doc = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    doc["outcomes"] = {k: v for k, v in doc["outcomes"].items() if k in ("lung", "all_cancers")}
    doc["sensitivity"] = {"blanking_2y": {"follow_up": {"blanking_days": 730}},
                          "iptw": {"analyses": {"confounding": {"method": "iptw"}}}}
    (tmp_path / "study").mkdir()
    path = tmp_path / "study" / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    messages = []
    out = run(path, data, tmp_path / "out", progress=messages.append)
    assert "sensitivity blanking_2y: build cohort" in messages
    assert "sensitivity iptw: build cohort" not in messages  # the main cohort serves an analyses-only variant
    est = pd.read_csv(out / "tables" / "estimates.csv", dtype=str, keep_default_na=False)
    assert list(dict.fromkeys(est["analysis"])) == ["main", "blanking_2y", "iptw"]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert len(results["estimates"]) == len(est)
    assert results["provenance"]["spec_hash"] == spec_hash(load_study(path))
    lock = json.loads((out / "study.lock.json").read_text(encoding="utf-8"))
    assert set(lock["sensitivity_studies"]) == {"blanking_2y", "iptw"}
    assert load_lock(out) == load_study(path)
    assert scan_outputs(out, 10) == []
