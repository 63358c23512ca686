"""`cohortstat validate` refuses each bad study design with exit 2 and a message naming the field,
before any data is read (no data folder is given)."""

from __future__ import annotations

import copy

import pytest
import yaml
from typer.testing import CliRunner

from cohortstat.cli import app

from .conftest import ROOT, shipped_document

runner = CliRunner()
RATES = ROOT / "studies" / "rates" / "illustrative_cancer_rates.csv"


def _override_unknown_key(doc):
    doc["sensitivity"] = {"blanking_2y": {"follow_up": {"blanking_dayz": 730}}}


def _subgroup_not_covariate(doc):
    doc["analyses"]["subgroups"] = ["smoking"]


def _overlapping_periods(doc):
    doc["analyses"]["periods"] = [[365, 1000], [730, 1825]]


def _rates_missing_age_band(doc, tmp_path):
    text = RATES.read_text(encoding="utf-8").replace("lung,50,60,2,35\n", "")
    (tmp_path / "rates").mkdir()
    (tmp_path / "rates" / "cancer.csv").write_text(text, encoding="utf-8")
    doc["reference_rates"] = {"file": "rates/cancer.csv", "per": 100000}


def _few_negative_controls(doc):
    doc["negative_controls"] = ["tobacco", "alcohol", "skin_cancer"]


CASES = {
    "override_unknown_key": (_override_unknown_key, "sensitivity.blanking_2y.follow_up.blanking_dayz",
                             "unknown key"),
    "subgroup_not_covariate": (_subgroup_not_covariate, "analyses.subgroups.0", "unknown subgroup variable 'smoking'"),
    "overlapping_periods": (_overlapping_periods, "analyses.periods.1", "overlaps"),
    "rates_missing_age_band": (_rates_missing_age_band, "reference_rates.file",
                               "rates/cancer.csv: outcome 'lung': sex female (2): no age band for ages [50, 60)"),
    "few_negative_controls": (_few_negative_controls, "negative_controls",
                              "3 negative control(s); empirical calibration needs at least 5"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_validate_refuses_bad_design_with_a_located_error(case, tmp_path):
    edit, location, message = CASES[case]
    doc = copy.deepcopy(shipped_document())
    if edit is _rates_missing_age_band:
        edit(doc, tmp_path)
    else:
        edit(doc)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    assert f"{location}: " in result.stderr and message in result.stderr, result.stderr
