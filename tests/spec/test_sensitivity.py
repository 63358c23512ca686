"""Sensitivity variants: merged overrides, located errors, hash and lock."""

from __future__ import annotations

import json

import pytest
import yaml

from cohortstat.errors import SpecError
from cohortstat.spec import freeze, load_lock, load_study, spec_hash
from cohortstat.spec.variants import merge_override, only_analyses_differ, resolve_variant

from .conftest import SHIPPED


def _doc(**variants):
    doc = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    doc.pop("sensitivity", None)  # the shipped study's own variants: these tests set their own
    if variants:
        doc["sensitivity"] = variants
    return doc


def test_merge_is_recursive_for_mappings_and_replaces_lists():
    base = {"a": {"b": 1, "c": 2}, "l": [1, 2], "x": 1}
    assert merge_override(base, {"a": {"c": 3}, "l": [9]}) == {"a": {"b": 1, "c": 3}, "l": [9], "x": 1}
    assert base == {"a": {"b": 1, "c": 2}, "l": [1, 2], "x": 1}  # not modified


def test_variant_equals_the_study_written_with_the_override():
    study = load_study(_doc(blanking_2y={"follow_up": {"blanking_days": 730}},
                            iptw={"analyses": {"confounding": {"method": "iptw", "stabilized": False}}}))
    by_hand = _doc()
    by_hand["follow_up"]["blanking_days"] = 730
    assert resolve_variant(study, "blanking_2y") == load_study(by_hand)
    by_hand = _doc()
    by_hand["analyses"]["confounding"] = {"method": "iptw", "stabilized": False}
    iptw = resolve_variant(study, "iptw")
    assert iptw == load_study(by_hand) and iptw.sensitivity == {}
    assert only_analyses_differ(study, iptw)
    assert not only_analyses_differ(study, resolve_variant(study, "blanking_2y"))


def test_shipped_hash_unchanged_without_variants_and_variants_enter_the_hash():
    plain = load_study(_doc())
    shipped = load_study(SHIPPED)
    assert spec_hash(plain) == spec_hash(shipped.model_copy(update={"sensitivity": {}}))
    one = load_study(_doc(b={"follow_up": {"blanking_days": 730}}))
    other = load_study(_doc(b={"follow_up": {"blanking_days": 731}}))
    renamed = load_study(_doc(c={"follow_up": {"blanking_days": 730}}))
    worded = load_study(_doc(b={"description": "reworded", "follow_up": {"blanking_days": 730}}))
    assert len({spec_hash(s) for s in (plain, one, other, renamed)}) == 4
    assert spec_hash(worded) == spec_hash(one)


def test_lock_holds_every_resolved_variant(tmp_path):
    study = load_study(_doc(b={"follow_up": {"blanking_days": 730}}, w={"analyses": {"confounding": {"method": "iptw"}}}))
    path = freeze(study, tmp_path)
    lock = json.loads(path.read_text(encoding="utf-8"))
    assert set(lock["sensitivity_studies"]) == {"b", "w"}
    assert lock["sensitivity_studies"]["b"]["follow_up"]["blanking_days"] == 730
    assert lock["sensitivity_studies"]["w"]["analyses"]["confounding"]["method"] == "iptw"
    assert load_lock(path) == study


@pytest.mark.parametrize("variant, location, message", [
    ({"follow_up": {"blanking_dayz": 730}}, "sensitivity.v.follow_up.blanking_dayz", "unknown key"),
    ({"follow_up": {"blanking_days": -1}}, "sensitivity.v.follow_up.blanking_days", "greater than or equal"),
    ({"analyses": {"confounding": {"method": "psm"}}}, "sensitivity.v.analyses.confounding.method", "input should"),
    ({"outcomes": {"lung": {"concept_set": "nope"}}}, "sensitivity.v.outcomes.lung.concept_set", "nope"),
    ({"title": "x"}, "sensitivity.v.title", "unknown key"),
])
def test_errors_are_located_under_the_variant(variant, location, message):
    with pytest.raises(SpecError) as info:
        load_study(_doc(v=variant))
    errors = dict(info.value.errors)
    assert location in errors and message in errors[location], info.value.errors
    assert all(loc.startswith("sensitivity.v.") for loc in errors)  # the main study's own keys are fine
