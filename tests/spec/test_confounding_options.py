"""Confounding options and term forms of the study file: validation, defaults and the hash."""

from __future__ import annotations

import copy

import pytest
import yaml
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.errors import SpecError
from cohortstat.spec import load_study, spec_hash
from cohortstat.spec.loading import validate_document
from cohortstat.spec.models import TermForm

from .conftest import SHIPPED, shipped_document

SHIPPED_HASH = spec_hash(load_study(SHIPPED))


def _with(**changes) -> dict:
    """The shipped study with dotted keys set, e.g. ``{"analyses.confounding.method": "iptw"}``."""
    doc = copy.deepcopy(shipped_document())
    for dotted, value in changes.items():
        target = doc
        *head, last = dotted.split("__")
        for part in head:
            target = target.setdefault(part, {})
        target[last] = value
    return doc


def _errors(doc: dict) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        validate_document(doc)
    return info.value.errors


def test_defaults_and_booleans_keep_the_hash():
    for doc in (
        _with(covariates__age=True, covariates__calendar_year=True),
        _with(covariates__age={"form": "linear"}),
        _with(analyses__confounding={"method": "none", "estimand": "ate"}),
    ):
        assert spec_hash(validate_document(doc)) == SHIPPED_HASH


def test_each_new_option_changes_the_hash():
    docs = [
        _with(covariates__age={"form": "spline"}),
        _with(covariates__age={"form": "spline", "df": 3}),
        _with(covariates__calendar_year={"form": "categories", "breaks": [2012, 2015]}),
        _with(covariates__age=False, analyses__subgroups=["sex"]),  # age_band subgroups need age
        _with(analyses__confounding={"method": "iptw", "estimand": "att"}),
        _with(analyses__confounding={"method": "iptw", "trim": [0.05, 0.95]}),
        _with(analyses__confounding={"method": "iptw", "truncate": 0.99}),
        _with(analyses__confounding={"method": "iptw", "covariates": {"charlson": "components"}}),
        _with(analyses__confounding={"method": "iptw"}),
    ]
    for d in docs:  # the shipped variants would combine with the options (matching + ATT is refused)
        d.pop("sensitivity")
    hashes = {spec_hash(validate_document(d)) for d in docs}
    assert len(hashes) == len(docs) and SHIPPED_HASH not in hashes


def test_spline_df_defaults_to_four_and_is_explicit():
    study = validate_document(_with(covariates__age={"form": "spline"}))
    assert study.covariates.age == TermForm(form="spline", df=4)


@pytest.mark.parametrize(
    ("changes", "location", "message"),
    [
        ({"covariates__age": {"form": "cubic"}}, "covariates.age",
         "form: input should be 'linear', 'categories' or 'spline'"),
        ({"covariates__age": {"form": "spline", "df": 0}}, "covariates.age", "df must be between 1 and 20"),
        ({"covariates__calendar_year": {"form": "categories", "breaks": [2015, 2012]}}, "covariates.calendar_year",
         "breaks must be strictly increasing"),
        ({"covariates__age": {"form": "categories"}}, "covariates.age", "form: categories needs breaks"),
        ({"covariates__age": {"form": "linear", "df": 3}}, "covariates.age", "df applies to form: spline only"),
        ({"covariates__age": {"form": "spline", "knots": [3]}}, "covariates.age", "unknown key 'knots'"),
        ({"covariates__age": "spline"}, "covariates.age", "input should be a valid boolean: true or false"),
        ({"analyses__confounding": {"method": "overlap", "estimand": "att"}}, "analyses.confounding",
         "estimand: att is not available with method: overlap"),
        ({"analyses__confounding": {"method": "matching", "estimand": "att"}}, "analyses.confounding",
         "estimand: att is not available with method: matching"),
        ({"analyses__confounding": {"method": "iptw", "estimand": "atc"}}, "analyses.confounding.estimand",
         "input should be 'ate' or 'att'"),
        ({"analyses__confounding": {"method": "iptw", "trim": [0.9, 0.1]}}, "analyses.confounding.trim",
         "0 < a < b < 1"),
        ({"analyses__confounding": {"method": "iptw", "trim": [0.0, 0.9]}}, "analyses.confounding.trim",
         "0 < a < b < 1"),
        ({"analyses__confounding": {"method": "iptw", "truncate": 0.4}}, "analyses.confounding.truncate",
         "percentile in (0.5, 1)"),
        ({"analyses__confounding": {"method": "iptw", "truncate": 1.0}}, "analyses.confounding.truncate",
         "percentile in (0.5, 1)"),
        ({"analyses__confounding": {"method": "iptw", "covariates": {"age": {"form": "spline", "df": 30}}}},
         "analyses.confounding.covariates.age", "df must be between 1 and 20"),
        ({"analyses__confounding": {"method": "iptw", "covariates": {"charlson": "weighted"}}},
         "analyses.confounding.covariates.charlson", "'score' or 'components', got 'weighted'"),
    ],
)
def test_bad_options_are_located(changes, location, message):
    errors = _errors(_with(**changes))
    assert any(loc == location and message in msg for loc, msg in errors), errors


def test_validate_exits_2_naming_the_field(tmp_path):
    doc = _with(analyses__confounding={"method": "overlap", "estimand": "att"},
                covariates__age={"form": "spline", "df": 0})
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "analyses.confounding: estimand: att is not available with method: overlap" in result.output
    assert "covariates.age: df must be between 1 and 20" in result.output


def test_a_variant_switching_to_overlap_with_att_is_located_under_the_variant():
    doc = _with(analyses__confounding={"method": "iptw", "estimand": "att"})
    doc["sensitivity"] = {"overlap": {"analyses": {"confounding": {"method": "overlap"}}}}
    errors = _errors(doc)
    assert any(loc == "sensitivity.overlap.analyses.confounding" and "estimand: att" in msg for loc, msg in errors)


def test_a_variant_changing_the_form_resets_df():
    doc = _with(covariates__age={"form": "spline", "df": 4})
    doc["sensitivity"] = {
        "bands": {"covariates": {"age": {"form": "categories", "breaks": [50, 65, 80], "df": None}}},
        "stale_df": {"covariates": {"age": {"form": "categories", "breaks": [50, 65, 80]}}},
    }
    errors = _errors(doc)
    assert [loc for loc, _ in errors] == ["sensitivity.stale_df.covariates.age"]
    assert "df applies to form: spline only" in errors[0][1]
    del doc["sensitivity"]["stale_df"]
    from cohortstat.spec.variants import resolve_variant

    study = validate_document(doc)
    assert resolve_variant(study, "bands").covariates.age == TermForm(form="categories", breaks=(50, 65, 80))


def test_propensity_flags_are_checked_like_the_study_flags():
    doc = _with(analyses__confounding={"method": "iptw", "covariates": {"flags": [
        {"name": "smoker", "concept_set": "no_such_set", "lookback_days": 365},
        {"name": "weight", "concept_set": "tobacco", "lookback_days": 365},
        {"name": "tobacco", "concept_set": "tobacco", "lookback_days": 1},
    ]}})
    errors = dict(_errors(doc))
    where = "analyses.confounding.covariates.flags"
    assert errors[f"{where}.0.concept_set"].startswith("unknown concept set 'no_such_set'")
    assert "fixed column" in errors[f"{where}.1.name"]
    assert "defined differently under covariates.flags" in errors[f"{where}.2"]
    same = copy.deepcopy(shipped_document()["covariates"]["flags"][0])
    ok = _with(analyses__confounding={"method": "iptw", "covariates": {"flags": [same]}})
    assert validate_document(ok).analyses.confounding.covariates.flags[0].name == same["name"]
