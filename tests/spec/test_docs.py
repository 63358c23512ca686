"""docs/study-file.md documents every field of every model of the study file and of the run profile."""

from cohortstat.spec import RunProfile
from cohortstat.spec.canonical import field_class
from cohortstat.spec.models import ALL_MODELS

from .conftest import ROOT

DOC = (ROOT / "docs" / "study-file.md").read_text(encoding="utf-8")


def test_every_field_is_documented():
    missing = [
        f"{m.__name__}.{name}"
        for m in (*ALL_MODELS, RunProfile)
        for name in m.model_fields
        if f"`{name}`" not in DOC and f".{name}`" not in DOC and f"`{name}." not in DOC
    ]
    assert missing == []


def test_every_model_is_named():
    assert [m.__name__ for m in ALL_MODELS if m.__name__ not in DOC and m.__name__ not in ("Study",)] == []


def test_cosmetic_fields_are_documented_as_outside_the_hash():
    for model in ALL_MODELS:
        for name in model.model_fields:
            if field_class(model, name) == "cosmetic":
                rows = [line for line in DOC.splitlines() if line.startswith(f"| `{name}` |")]
                assert rows and all(row.rstrip().endswith("| no |") for row in rows), name
