"""Shared fixtures of the study-file tests."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "studies" / "sepsis_cancer.yaml"
BAD_DIR = Path(__file__).resolve().parent / "bad_studies"


def shipped_document() -> dict:
    """The shipped study as a plain YAML document (fresh copy)."""
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def rich_document(rates: bool = True) -> dict:
    """The shipped study with every optional part filled in, so that every model and field is used
    (``rates=False``: without reference rates, whose coverage checks tie them to outcomes and ages)."""
    doc = copy.deepcopy(shipped_document())
    doc["concept_sets"]["skin_cancer"]["include"] = ["C43", "C44"]
    doc["concept_sets"]["skin_cancer"]["exclude"] = ["C449", "C440-C441"]
    doc["inclusion"][0]["max_years"] = 100
    doc["inclusion"].append(
        {"id": "landmark", "description": "Alive 30 days after discharge", "rule": "alive_at_landmark", "days": 30}
    )
    doc["inclusion"].append(
        {"id": "washout", "rule": "no_prior_concept", "concept_set": "sepsis", "lookback_days": 365,
         "roles": ["principal"], "window_end": "before_admission"}
    )
    doc["inclusion"][1]["window_end"] = "before_admission"  # optional fields are hashed when not default
    for name in doc["outcomes"]:  # optional fields are hashed when set: set them all
        doc["outcomes"][name]["population"] = {"sex": "female" if name == "breast" else "male",
                                             "min_age": 18, "max_age": 100}
    doc["follow_up"]["max_days"] = 3650
    doc["follow_up"]["offset_days"] = 1
    doc["analyses"]["cox"]["strata"] = ["sex"]
    doc["analyses"]["cox"]["variance"] = "robust"
    doc["analyses"]["confounding"] = {
        "method": "iptw",
        "estimand": "att",
        "truncate": 0.99,
        "ratio": 2,
        "caliper_sd": 0.1,
        "exact": ["sex", "age", "calendar_year"],
        "age_band_years": 5,
        "stabilized": True,
        "seed": 7,
        "outcome_model": "conditional",
        "trim": [0.01, 0.99],
        "covariates": {"age": {"form": "categories", "breaks": [50, 65]}, "charlson": "components", "prior_stays": True},
    }
    doc["covariates"]["age"] = {"form": "spline", "df": 3}
    doc["analyses"]["subgroups"] = ["sex", "age_band"]
    doc["analyses"]["age_bands"] = [60, 75]
    doc["analyses"]["periods"] = [[365, 730], [730, 1825], [1825, 3650]]
    doc["negative_controls"] = ["skin_cancer", "oropharynx_cancer", "breast_cancer", "tobacco", "alcohol"]
    doc["sensitivity"] = {
        "blanking_2y": {"description": "two years of blanking", "follow_up": {"blanking_days": 730}},
        "iptw": {"analyses": {"confounding": {"method": "iptw"}}},
    }
    if rates:
        doc["reference_rates"] = {"file": str(ROOT / "studies" / "rates" / "illustrative_cancer_rates.csv"), "per": 1e5}
    return doc


@pytest.fixture
def shipped_doc() -> dict:
    return shipped_document()


@pytest.fixture
def rich_doc() -> dict:
    return rich_document()
