import datetime as dt
from pathlib import Path

import pydantic
import pytest

import cohortstat
from cohortstat.errors import SpecError
from cohortstat.spec import (
    AgeAtIndex,
    AliveAtLandmark,
    Confounding,
    ConceptSet,
    Study,
    load_study,
)
from cohortstat.spec.loading import MAX_BYTES

from .conftest import SHIPPED


def test_shipped_study_loads_with_canonical_concept_sets():
    study = load_study(SHIPPED)
    assert isinstance(study, Study)
    assert study.spec_version == 1
    assert study.study_period.start == dt.date(2010, 1, 1) and study.study_period.end == dt.date(2016, 12, 31)
    cs = study.concept_sets
    assert cs["lung_cancer"].include == ("C33", "C34")
    assert cs["trauma"].include[:2] == ("S00", "S01") and cs["trauma"].include[-1] == "T14"
    assert len(cs["trauma"].include) == 115
    assert cs["any_cancer"].include == tuple(f"C{i:02d}" for i in range(98))
    assert cs["brain_injury"].include == ("G931", "I60", "I61", "I62", "I63", "S06")
    assert cs["sepsis"].include == ("A40", "A41", "R572", "R650", "R651")
    assert all(c.exclude == () for c in cs.values())
    assert study.comparison.exposed == "sepsis" and study.comparison.reference == "trauma"
    assert [r.rule for r in study.inclusion] == ["age_at_index", "no_prior_concept", "alive_at_discharge"]
    assert study.follow_up.anchor == "discharge" and study.follow_up.blanking_days == 365
    # myeloid and in_situ: outcomes with planted age-band and period effects (docs/synthetic-data.md)
    assert set(study.outcomes) == {"lung", "skin", "oropharynx", "breast", "all_cancers", "myeloid", "in_situ"}
    assert study.competing_events == ("death",)
    assert [f.name for f in study.covariates.flags] == ["tobacco", "alcohol"]


def test_defaults_are_explicit_after_loading():
    study = load_study(SHIPPED)
    conf = study.analyses.confounding
    assert (conf.ratio, conf.caliper_sd, conf.exact, conf.age_band_years, conf.stabilized, conf.seed) == (
        1, 0.2, (), 5, True, 0,
    )
    assert study.inclusion[0].max_years is None
    assert study.cohorts["sepsis"].entry.concept_sets == ("peritonitis", "pneumonia", "sepsis")  # sorted


def test_roles_are_put_in_pmsi_order():
    doc = {"concept_sets": ["x"], "roles": ["associated", "principal"]}
    from cohortstat.spec import Entry

    assert Entry.model_validate(doc).roles == ("principal", "associated")


def test_load_from_text_path_string_and_mapping_agree(shipped_doc):
    text = SHIPPED.read_text(encoding="utf-8")
    a = load_study(SHIPPED)
    assert load_study(str(SHIPPED)) == a
    assert load_study(text) == a
    assert load_study(shipped_doc) == a
    assert cohortstat.load_study is load_study


def test_models_are_frozen():
    study = load_study(SHIPPED)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        study.title = "x"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        study.follow_up.blanking_days = 0  # type: ignore[misc]


def test_python_construction_runs_the_same_cross_checks(shipped_doc):
    shipped_doc["outcomes"]["lung"]["concept_set"] = "lungg"
    with pytest.raises(pydantic.ValidationError, match=r"outcomes.lung.concept_set: unknown concept set 'lungg'"):
        Study.model_validate(shipped_doc)


def test_models_can_be_built_in_python():
    rule = AgeAtIndex(id="adult", rule="age_at_index", min_years=18)
    assert rule.max_years is None and rule.description == ""
    assert AliveAtLandmark(id="lm", rule="alive_at_landmark", days=30).days == 30
    assert ConceptSet(include=("C34", "C33-C34")).include == ("C33", "C34")
    assert Confounding().method == "none"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("does/not/exist.yaml", "does/not/exist.yaml: no such file"),
        (12, "expected a path, YAML text or a mapping, got int"),
        ("studies/typo.yml ", "studies/typo.yml : no such file"),
        ("- 1\n- 2\n", r"\(study\): a study file must be a mapping of keys .*, got a YAML list"),
        ("title: one line", "spec_version: required key is missing"),
    ],
)
def test_bad_sources(source, message):
    with pytest.raises(SpecError, match=message):
        load_study(source)


def test_directory_is_not_a_study(tmp_path):
    with pytest.raises(SpecError, match="is a directory"):
        load_study(Path(tmp_path))


def test_huge_documents_are_refused_before_parsing(tmp_path):
    big = "title: " + "x" * (MAX_BYTES + 10) + "\n"
    with pytest.raises(SpecError, match=f"larger than {MAX_BYTES} bytes"):
        load_study(big)
    path = tmp_path / "big.yaml"
    path.write_text(big)
    with pytest.raises(SpecError, match=f"big.yaml: the file is larger than {MAX_BYTES} bytes"):
        load_study(path)


def test_deep_nesting_is_refused_without_traceback():
    text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(SpecError, match="nested too deeply"):
        load_study(text)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: études\n".encode("latin-1"))
    with pytest.raises(SpecError, match="not UTF-8 text"):
        load_study(path)


def test_datetime_with_time_is_rejected(shipped_doc):
    shipped_doc["study_period"]["start"] = dt.datetime(2010, 1, 1, 12, 30)
    with pytest.raises(SpecError, match=r"study_period.start: datetimes provided to dates should have zero time"):
        load_study(shipped_doc)


def test_booleans_and_numbers_are_strict(shipped_doc):
    shipped_doc["covariates"]["age"] = "yes"
    shipped_doc["analyses"]["cox"]["crude"] = 1
    shipped_doc["inclusion"][0]["min_years"] = 18.5
    with pytest.raises(SpecError) as info:
        load_study(shipped_doc)
    locs = dict(info.value.errors)
    hint = "input should be a valid boolean: true or false (YAML yes/no/on/off are not booleans here)"
    assert locs["covariates.age"] == f"{hint}, got 'yes'"
    assert locs["analyses.cox.crude"] == f"{hint}, got 1"
    assert locs["inclusion.0.min_years"] == "input should be a valid integer, got 18.5"


def test_duplicate_roles_and_entry_sets(shipped_doc):
    shipped_doc["outcomes"]["lung"]["roles"] = ["principal", "principal"]
    shipped_doc["cohorts"]["sepsis"]["entry"]["concept_sets"] = ["sepsis", "sepsis"]
    shipped_doc["outcomes"]["skin"]["roles"] = []
    with pytest.raises(SpecError) as info:
        load_study(shipped_doc)
    locs = dict(info.value.errors)
    assert locs["outcomes.lung.roles"] == "role 'principal' is listed twice; list each once"
    assert locs["cohorts.sepsis.entry.concept_sets"] == "name 'sepsis' is listed twice; list each once"
    assert locs["outcomes.skin.roles"] == "list at least one diagnosis role: principal, related, associated"


def test_unknown_role_lists_the_allowed_ones(shipped_doc):
    shipped_doc["outcomes"]["lung"]["roles"] = ["primary"]
    with pytest.raises(SpecError, match=r"outcomes.lung.roles.0: input should be 'principal', 'related' or 'associated', got 'primary'"):
        load_study(shipped_doc)


def test_blanking_must_leave_follow_up(shipped_doc):
    shipped_doc["follow_up"]["max_days"] = 365
    with pytest.raises(SpecError, match=r"follow_up.blanking_days: 365 leaves no follow-up"):
        load_study(shipped_doc)


def test_exact_matching_names_known_covariates(rich_doc):
    assert load_study(rich_doc).analyses.confounding.exact == ("age", "calendar_year", "sex")
    rich_doc["analyses"]["confounding"]["exact"] = ["sex", "region"]
    with pytest.raises(SpecError, match=r"analyses.confounding.exact.1: unknown covariate 'region'"):
        load_study(rich_doc)


def test_a_single_cohort_is_not_a_comparison(shipped_doc):
    del shipped_doc["cohorts"]["trauma"]
    del shipped_doc["cohorts"]["nonsevere_infection"]  # the shipped study's third cohort (a variant's comparator)
    del shipped_doc["sensitivity"]
    with pytest.raises(SpecError) as info:
        load_study(shipped_doc)
    locs = dict(info.value.errors)
    assert locs["cohorts"].startswith("dictionary should have at least 2 items")
    assert locs["comparison.reference"] == "unknown cohort 'trauma'; known: sepsis"


def test_adversarial_document_below_the_size_limit_is_handled_quickly(shipped_doc):
    import time

    shipped_doc["concept_sets"]["lung_cancer"]["include"] = [f"A00-Z{99 - i % 90:02d}" for i in range(40_000)]
    shipped_doc["concept_sets"]["skin_cancer"]["exclude"] = [f"C43{i % 10}" for i in range(40_000)]
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as info:
        load_study(shipped_doc)
    assert time.perf_counter() - t0 < 10
    assert dict(info.value.errors)["concept_sets.lung_cancer.include"].startswith("the list expands to")
