import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cohortstat
from cohortstat.errors import SpecError
from cohortstat.spec import freeze, load_lock, load_study, spec_hash
from cohortstat.spec.canonical import to_data
from cohortstat.spec.freeze import LOCK_NAME
from cohortstat.spec.models import ALL_MODELS, Study

from .conftest import SHIPPED, rich_document


def _instances(model, found):
    """Every model instance inside ``model``, by class."""
    found.setdefault(type(model), []).append(model)
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value.values() if isinstance(value, dict) else value if isinstance(value, tuple) else [value]
        for item in items:
            if hasattr(type(item), "model_fields"):
                _instances(item, found)
    return found


def test_freeze_writes_the_lock_and_load_lock_round_trips(tmp_path):
    study = load_study(SHIPPED)
    path = freeze(study, tmp_path / "out")
    assert path == tmp_path / "out" / LOCK_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["spec_hash"] == spec_hash(study)
    assert data["cohortstat_version"] == cohortstat.__version__
    assert data["lock_format"] == 1
    assert data["study"]["analyses"]["confounding"]["caliper_sd"] == 0.2  # defaults explicit
    assert data["study"]["concept_sets"]["lung_cancer"]["include"] == ["C33", "C34"]
    again = load_lock(path)
    assert again == study and spec_hash(again) == spec_hash(study)
    assert load_lock(tmp_path / "out") == study  # a folder holding the lock
    assert [p.name for p in (tmp_path / "out").iterdir()] == [LOCK_NAME]  # no temporary file left


def test_round_trip_of_every_model(tmp_path):
    study = load_study(rich_document())
    found = _instances(study, {})
    assert set(found) == set(ALL_MODELS)  # the rich study uses every model
    back = load_lock(freeze(study, tmp_path))
    assert back == study
    for model, instances in found.items():
        for inst in instances:
            assert model.model_validate(json.loads(json.dumps(to_data(inst)))) == inst


def test_refreezing_replaces_atomically_and_a_failed_write_keeps_the_old_lock(tmp_path, monkeypatch):
    study = load_study(SHIPPED)
    path = freeze(study, tmp_path)
    before = path.read_bytes()
    doc = rich_document()
    other = load_study(doc)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        freeze(other, tmp_path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_NAME]
    monkeypatch.undo()
    freeze(other, tmp_path)
    assert load_lock(tmp_path) == other


def test_extra_keys_are_kept_but_cannot_replace_the_lock_keys(tmp_path):
    study = load_study(SHIPPED)
    path = freeze(study, tmp_path, extra={"data_fingerprint": "abc"})
    assert json.loads(path.read_text())["data_fingerprint"] == "abc"
    assert load_lock(path) == study
    with pytest.raises(ValueError, match="'spec_hash' would overwrite"):
        freeze(study, tmp_path / "other", extra={"spec_hash": "0"})


def test_an_edited_lock_is_refused(tmp_path):
    path = freeze(load_study(SHIPPED), tmp_path)
    data = json.loads(path.read_text())
    data["study"]["follow_up"]["blanking_days"] = 0
    path.write_text(json.dumps(data))
    with pytest.raises(SpecError, match=r"spec_hash: recorded '1ef901.*' but the study hashes to"):
        load_lock(path)


def test_an_invalid_study_in_a_lock_gets_located_errors(tmp_path):
    path = freeze(load_study(SHIPPED), tmp_path)
    data = json.loads(path.read_text())
    data["study"]["outcomes"]["lung"]["concept_set"] = "lungg"
    path.write_text(json.dumps(data))
    with pytest.raises(SpecError, match=r"outcomes.lung.concept_set: unknown concept set 'lungg'"):
        load_lock(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not a readable JSON lock file"),
        ("[1, 2]", "not a study lock: expected keys lock_format, cohortstat_version, spec_hash, study"),
        ('{"lock_format": 9, "cohortstat_version": "x", "spec_hash": "x", "study": {}}', "unsupported lock format 9"),
    ],
)
def test_bad_lock_files(tmp_path, content, message):
    path = tmp_path / LOCK_NAME
    if content is not None:
        path.write_text(content)
    with pytest.raises(SpecError, match=message):
        load_lock(path)


def test_top_level_reexports():
    assert cohortstat.Study is Study
    assert cohortstat.freeze is freeze and cohortstat.load_lock is load_lock and cohortstat.spec_hash is spec_hash


def test_studies_are_hashable_consistently_with_equality(tmp_path):
    study = load_study(SHIPPED)
    back = load_lock(freeze(study, tmp_path))
    assert hash(study) == hash(back)
    assert len({study, back, load_study(rich_document())}) == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
    blanking=st.integers(0, 3000),
    caliper=st.floats(0.001, 10, allow_nan=False),
    seed=st.integers(0, 2**32 - 1),
)
def test_lock_round_trip_property(tmp_path_factory, title, blanking, caliper, seed):
    doc = rich_document()
    doc["title"] = title
    doc["follow_up"]["blanking_days"] = blanking
    doc["analyses"]["confounding"]["caliper_sd"] = caliper
    doc["analyses"]["confounding"]["seed"] = seed
    study = load_study(doc)
    back = load_lock(freeze(study, tmp_path_factory.mktemp("lock")))
    assert back == study and spec_hash(back) == spec_hash(study) and back.title == title
