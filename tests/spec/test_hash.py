"""The spec hash covers every result field and nothing else; every field is classified."""

from __future__ import annotations

import copy
import datetime as dt
import os
import subprocess
import sys
import types
import typing
from typing import Any, get_args, get_origin

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from cohortstat.errors import SpecError
from cohortstat.spec import load_study, spec_hash
from cohortstat.spec.canonical import canonical_json, field_class, hash_data, to_data
from cohortstat.spec.loading import validate_document
from cohortstat.spec.models import ALL_MODELS, COSMETIC, RESULT, Study

from .conftest import ROOT, SHIPPED, rich_document

#: Computed once from studies/sepsis_cancer.yaml and pinned: a different machine, Python or
#: dependency version must give the same digest. Change it only with a deliberate change of the study.
# the shipped study now carries periods, subgroups, negative controls and three sensitivity analyses
SHIPPED_HASH = "1ef9015fe48be0145c253f6d28573e5e38362fe915018ff1f2ae75a09af6cf8e"

COSMETIC_FIELDS = {
    ("Study", "title"),
    ("Study", "description"),
    ("ConceptSet", "description"),
    ("Cohort", "label"),
    ("Outcome", "label"),
    ("AgeAtIndex", "description"),
    ("NoPriorConcept", "description"),
    ("AliveAtDischarge", "description"),
    ("AliveAtLandmark", "description"),
    ("Variant", "description"),
    ("ReferenceRates", "file"),
}


def _models_reachable(model: type[BaseModel], seen: set) -> None:
    """Every model class reachable from ``model`` through its field annotations."""
    if model in seen:
        return
    seen.add(model)

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _models_reachable(annotation, seen)
        for arg in get_args(annotation):
            walk(arg)

    for field in model.model_fields.values():
        walk(field.annotation)


def test_every_field_of_every_model_is_classified():
    reachable: set = set()
    _models_reachable(Study, reachable)
    assert reachable == set(ALL_MODELS), "ALL_MODELS must list every model reachable from Study"
    unclassified = [
        f"{m.__name__}.{name}" for m in reachable for name in m.model_fields if field_class(m, name) is None
    ]
    assert unclassified == []
    cosmetic = {(m.__name__, name) for m in reachable for name in m.model_fields if field_class(m, name) == COSMETIC}
    assert cosmetic == COSMETIC_FIELDS


def test_shipped_hash_is_pinned():
    assert spec_hash(load_study(SHIPPED)) == SHIPPED_HASH


def test_hash_is_stable_across_processes_and_hash_seeds():
    code = "from cohortstat.spec import load_study, spec_hash; print(spec_hash(load_study('studies/sepsis_cancer.yaml')))"
    digests = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert digests == {SHIPPED_HASH}


def test_canonical_json_is_sorted_explicit_and_iso():
    text = canonical_json(load_study(SHIPPED))
    assert '"start":"2010-01-01"' in text and '"caliper_sd":0.2' in text and '"max_years":null' in text
    assert text.index('"analyses"') < text.index('"cohorts"') < text.index('"title"')
    assert " " not in text.replace("Sepsis survivors and subsequent cancer", "")[:50]


def test_hash_ignores_yaml_order_comments_and_equivalent_code_lists(shipped_doc):
    base = spec_hash(load_study(shipped_doc))
    doc = copy.deepcopy(shipped_doc)
    doc["outcomes"] = dict(reversed(list(doc["outcomes"].items())))
    doc["concept_sets"]["lung_cancer"]["include"] = ["C34", "C33", "C341"]
    doc["cohorts"]["sepsis"]["entry"]["concept_sets"] = ["sepsis", "peritonitis", "pneumonia"]
    doc["outcomes"]["lung"]["roles"] = ["associated", "related", "principal"]
    assert spec_hash(load_study(doc)) == base


# --- leaf walk over a resolved study ------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def leaves(model: BaseModel, path: tuple = ()) -> list[tuple[tuple, str, Any]]:
    """(path into to_data(), classification, annotation) of every non-model value of ``model``."""
    out = []
    for name, field in type(model).model_fields.items():
        kind = field_class(type(model), name)
        value = getattr(model, name)
        here = (*path, name)
        if type(model).__name__ == "Variant" and value is None:
            continue  # a part the variant does not override: not written at all
        if type(model).__name__ == "Study" and name == "reference_rates" and value is None:
            continue  # an absent optional section (its leaves: tests/spec/test_reference_rates.py)
        if isinstance(value, dict) and type(model).__name__ == "Variant":
            out += _raw_leaves(value, here, kind)
        elif isinstance(value, BaseModel):
            out += leaves(value, here)
        elif isinstance(value, dict) and all(isinstance(v, BaseModel) for v in value.values()):
            for key, item in value.items():
                out += leaves(item, (*here, key))
        elif isinstance(value, tuple) and value and all(isinstance(v, BaseModel) for v in value):
            for i, item in enumerate(value):
                out += leaves(item, (*here, i))
        else:
            out.append((here, kind, field.annotation))
    return out


def _raw_leaves(value: dict, path: tuple, kind: str) -> list:
    """Leaves of a variant's override (plain YAML data: nested mappings of values)."""
    out = []
    for key, item in value.items():
        if isinstance(item, dict):
            out += _raw_leaves(item, (*path, key), kind)
        else:
            out.append(((*path, key), kind, Any))
    return out


def get_in(data: Any, path: tuple) -> Any:
    for p in path:
        data = data[p]
    return data


def set_in(data: Any, path: tuple, value: Any) -> Any:
    data = copy.deepcopy(data)
    target = data
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return data


def literal_options(annotation: Any) -> tuple:
    annotation = _unwrap(annotation)
    if get_origin(annotation) is typing.Literal:
        return get_args(annotation)
    if get_origin(annotation) is tuple:
        return literal_options(get_args(annotation)[0])
    if get_origin(annotation) in (typing.Union, types.UnionType):  # an optional choice: Literal[...] | None
        return tuple(o for arg in get_args(annotation) for o in literal_options(arg))
    return ()


def candidates(path: tuple, value: Any, annotation: Any, names: dict[str, list[str]]) -> list[Any]:
    """Alternative values for one leaf, most of which keep the study valid."""
    field = path[-1]
    options = literal_options(annotation)
    if path == ("analyses", "confounding", "covariates", "flags"):  # the propensity model's own flags
        return [[{"name": "ps_flag", "concept_set": names["concept_sets"][0], "lookback_days": 365}]]
    if field == "trim":
        return [[0.05, 0.95], None]
    if field == "truncate":
        return [0.95, None]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int) or value is None and field in ("max_days", "max_years"):
        base = value if isinstance(value, int) else 100
        return [base + 1, base - 1, 3650]
    if isinstance(value, float):
        return [value / 2, value * 1.5]
    if isinstance(value, str) and field in ("start", "end", "end_of_data"):
        d = dt.date.fromisoformat(value)
        return [(d + dt.timedelta(days=k)).isoformat() for k in (1, -1, 400)]
    if isinstance(value, str) and options:
        return [o for o in options if o != value]
    if isinstance(value, str) and field == "method":  # in a sensitivity variant's raw override
        return [o for o in ("none", "iptw", "overlap", "matching") if o != value]
    if isinstance(value, str) and field in ("concept_set",):
        return [n for n in names["concept_sets"] if n != value]
    if isinstance(value, str) and field in ("exposed", "reference", "id", "name"):
        return [n for n in names["cohorts"] if n != value] + ["renamed_x"]
    if isinstance(value, str):
        return [value + " (reworded)", ""]
    if isinstance(value, list) and field in ("include", "exclude"):
        return [value + ["Z99"], value[:-1], value + ["C4491"]]
    if isinstance(value, list) and field == "roles":
        return [["principal"], ["associated"], ["principal", "related", "associated"]]
    if isinstance(value, list) and field == "negative_controls":
        return [value + [c] for c in names["concept_sets"] if c not in value][:2]
    if isinstance(value, list) and field == "periods":
        return [value[:-1], value + [[value[-1][1], value[-1][1] + 100]]]
    if isinstance(value, list) and options:  # competing_events
        return [[]] if value else [list(options)]
    if isinstance(value, list):  # name lists: entry concept sets, strata, exact
        pool = names.get(path[-1], []) or names["covariates"]
        return [value[:-1], value + [pool[0]], [pool[-1]]]
    raise AssertionError(f"no candidate for {path}: {value!r}")


def _names(study: Study) -> dict[str, list[str]]:
    cov = ["age", "sex", "calendar_year", "charlson"] + [f.name for f in study.covariates.flags]
    return {"concept_sets": sorted(study.concept_sets), "cohorts": sorted(study.cohorts), "covariates": cov}


RICH = load_study(rich_document(rates=False))  # rates: tests/spec/test_reference_rates.py
RICH_DATA = to_data(RICH)
RICH_HASH = spec_hash(RICH)
LEAVES = leaves(RICH)


OTHER_RULES = (
    {"rule": "alive_at_discharge"},
    {"rule": "alive_at_landmark", "days": 30},
    {"rule": "age_at_index", "min_years": 18},
)


def variants(path: tuple, annotation: Any) -> list[dict]:
    """Whole documents that differ from RICH_DATA at ``path``."""
    value = get_in(RICH_DATA, path)
    if path[-1] == "rule":  # a discriminator changes together with its rule's own fields
        item = get_in(RICH_DATA, path[:-1])
        return [set_in(RICH_DATA, path[:-1], {"id": item["id"], **r}) for r in OTHER_RULES if r["rule"] != value]
    if path[-1] == "form":  # a term form changes together with its own df / breaks
        forms = ({"form": "spline", "df": 5}, {"form": "categories", "breaks": [40, 70]})
        return [set_in(RICH_DATA, path[:-1], f) for f in forms if f["form"] != value]
    if path[-1] in ("df", "breaks") and not value:  # unused by this form: change the form with it
        form = {"form": "spline", "df": 5} if path[-1] == "df" else {"form": "categories", "breaks": [40, 70]}
        return [set_in(RICH_DATA, path[:-1], form)]
    if path[-2:] == ("covariates", "charlson") and isinstance(value, str):  # the propensity model's charlson
        return [set_in(RICH_DATA, path, v) for v in ("score", True, False) if v != value]
    if path[:1] == ("comparison",) and path[-1] in ("exposed", "reference"):  # swap the two cohorts
        comp = get_in(RICH_DATA, ("comparison",))
        swapped = {**comp, "exposed": comp["reference"], "reference": comp["exposed"]}
        return [set_in(RICH_DATA, ("comparison",), swapped)]
    if path[-1] == "exclude":  # an exclusion must lie under an include prefix
        first = get_in(RICH_DATA, (*path[:-1], "include"))[0]
        return [set_in(RICH_DATA, path, value + [first + "9"]), set_in(RICH_DATA, path, value[:-1])]
    docs = [set_in(RICH_DATA, path, new) for new in candidates(path, value, annotation, _names(RICH))]
    if path[0] == "covariates":  # a covariate switched off or renamed cannot stay a subgroup variable
        docs = [set_in(d, ("analyses", "subgroups"), []) for d in docs] + docs
    return docs


def _valid(data: dict) -> Study | None:
    try:
        return validate_document(data)
    except SpecError:
        return None


def _variant(path: tuple, new: Any) -> Study | None:
    return _valid(set_in(RICH_DATA, path, new))


def test_result_leaves_are_exactly_those_in_the_hashed_data():
    hashed = hash_data(RICH)
    for path, kind, _ in LEAVES:
        try:
            get_in(hashed, path)
            present = True
        except KeyError:
            present = False
        assert present == (kind == RESULT), path


def test_every_leaf_has_a_valid_change_and_the_hash_follows_its_class():
    assert len(LEAVES) > 100
    for path, kind, annotation in LEAVES:
        if path == ("spec_version",):
            continue  # one version exists: no other valid value (covered by the test above)
        value = get_in(RICH_DATA, path)
        changed = []
        for doc in variants(path, annotation):
            study = _valid(doc)
            if study is not None and get_in(to_data(study), path) != value:
                changed.append(study)
        assert changed, f"no valid change found for {'.'.join(map(str, path))}"
        for study in changed:
            same = spec_hash(study) == RICH_HASH
            assert same == (kind != RESULT), (path, kind)


def test_renaming_a_mapping_key_changes_the_hash():
    doc = copy.deepcopy(RICH_DATA)
    doc["outcomes"]["lung_renamed"] = doc["outcomes"].pop("lung")
    assert spec_hash(validate_document(doc)) != RICH_HASH


# --- hypothesis properties ----------------------------------------------------------------------------

COSMETIC_LEAVES = [leaf for leaf in LEAVES if leaf[1] == COSMETIC]
RESULT_LEAVES = [leaf for leaf in LEAVES if leaf[1] == RESULT]
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(COSMETIC_LEAVES), texts), min_size=1, max_size=6))
def test_hash_unchanged_when_cosmetic_fields_change(edits):
    data = RICH_DATA
    for (path, _, _), text in edits:
        data = set_in(data, path, text)
    study = validate_document(data)
    assert spec_hash(study) == RICH_HASH
    assert hash_data(study) == hash_data(RICH)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.sampled_from([leaf for leaf in RESULT_LEAVES if leaf[0] != ("spec_version",)]), st.data())
def test_hash_changes_when_a_result_field_changes(leaf, data):
    path, _, annotation = leaf
    value = get_in(RICH_DATA, path)
    if isinstance(value, bool):
        new = not value
    elif isinstance(value, int):
        new = data.draw(st.integers(1, 5000).filter(lambda v: v != value))
    elif isinstance(value, float):
        new = data.draw(st.floats(0.001, 0.9).filter(lambda v: v != value))
    elif isinstance(value, str) and path[-1] in ("start", "end", "end_of_data"):
        new = (dt.date.fromisoformat(value) + dt.timedelta(days=data.draw(st.integers(-3000, 3000)))).isoformat()
    else:
        new = None
    if new is None:
        study = _valid(data.draw(st.sampled_from(variants(path, annotation))))
    else:
        study = _variant(path, new)
    assume(study is not None)
    assume(get_in(to_data(study), path) != value)  # e.g. a code already covered canonicalises away
    assert spec_hash(study) != RICH_HASH
