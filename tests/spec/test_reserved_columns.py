"""The reserved column names of the spec layer cover every column the cohort builder uses.

A flag becomes a column joined onto the builder's tables; a flag named like one of their columns
(``death``, ``pid``, ...) would replace it. The list lives in :mod:`cohortstat.spec.checks` (the spec
layer does not import the cohort package); this test builds the shipped study and a study with every
option on, records the columns of every table the engine reads or materialises, and checks each one.
"""

from __future__ import annotations

import pytest

from cohortstat.cohort import build_cohort
from cohortstat.engines import Engine
from cohortstat.errors import SpecError
from cohortstat.spec import load_study
from cohortstat.spec.checks import FIXED_COLUMNS, RESERVED_PREFIXES

from .conftest import SHIPPED, rich_document


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from cohortstat.data.synth import generate

    return generate(3000, 1, tmp_path_factory.mktemp("reserved") / "data")


def _reserved(name: str) -> bool:
    return name in FIXED_COLUMNS or name.startswith(RESERVED_PREFIXES)


def _columns_seen(study, data, monkeypatch) -> set[str]:
    seen: set[str] = set()
    for method in ("materialize", "read_parquet"):
        original = getattr(Engine, method)

        def spy(self, *args, _original=original, **kwargs):
            table = _original(self, *args, **kwargs)
            seen.update(table.columns)
            return table

        monkeypatch.setattr(Engine, method, spy)
    cohort = build_cohort(study, data=data)
    seen.update(cohort.table.columns)
    return seen


@pytest.mark.parametrize("which", ["shipped", "rich"])
@pytest.mark.filterwarnings("ignore::cohortstat.errors.CohortWarning")  # tiny data: controls without events
def test_every_builder_column_is_reserved(which, data, monkeypatch):
    study = load_study(SHIPPED) if which == "shipped" else load_study(rich_document())
    flags = {f.name for f in study.covariates.flags}
    seen = _columns_seen(study, data, monkeypatch)
    assert len(seen) > 20  # the spy saw the intermediate tables, not only the output
    assert sorted(c for c in seen - flags if not _reserved(c)) == []


@pytest.mark.parametrize("name", ["death", "pid", "female", "person_key", "exposure", "patient_id", "fu_start",
                                  "time_x", "event_x", "pass_rule_0", "first_lung", "raw_mi", "ps", "weight"])
def test_a_flag_named_like_an_internal_column_is_refused(name):
    doc = rich_document()
    doc["covariates"]["flags"][0]["name"] = name
    with pytest.raises(SpecError) as info:
        load_study(doc)
    assert [loc for loc, _ in info.value.errors] == ["covariates.flags.0.name"]
