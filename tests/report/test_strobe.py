"""The STROBE/RECORD checklist: every item answered by a section of the report or marked not applicable /
not answerable, and the study-dependent items follow the study."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohortstat.report.strobe import strobe_items
from cohortstat.spec import load_study
from tests.core_study import core_document

STUDIES = Path(__file__).resolve().parents[2] / "studies"
SECTIONS = ("Methods", "Table 1", "Table 2", "Table 3", "Patient flow", "Study summary", "Limitations",
            "Diagnostics", "Estimates table", "Cumulative incidence", "study.lock.json")


@pytest.mark.parametrize("name", ["sepsis_cancer.yaml", "sepsis_cancer_designs.yaml"])
def test_every_item_is_answered_or_explicitly_marked(name):
    items = strobe_items(load_study(STUDIES / name), {"title": "T"})
    assert len(items) == len({i for i, _, _ in items}) >= 45
    for item, recommendation, where in items:
        assert item.strip() and recommendation.strip() and where.strip()
        marked = where.startswith(("Not applicable", "Not answerable by the report"))
        assert marked or any(s in where for s in SECTIONS), (item, where)
    for item in ("2", "3", "RECORD 1.1", "19"):  # partly answered: the rest is said to be the authors'
        assert "for the authors of the manuscript" in dict((i, w) for i, _, w in items)[item]


def test_study_dependent_items_follow_the_study():
    plain = dict((i, w) for i, _, w in strobe_items(load_study(core_document()), {"title": "T"}))
    designs = dict((i, w) for i, _, w in strobe_items(load_study(STUDIES / "sepsis_cancer_designs.yaml"),
                                                       {"title": "T"}))
    assert plain["12e"].startswith("Not applicable") and plain["12b"].startswith("Not applicable")
    assert designs["12e"].startswith("Methods (sensitivity analyses:") and "age band" in designs["12b"]
    assert "negative-control outcomes" in designs["9"] and "negative-control" not in plain["9"]
    assert plain["10"].startswith("Not answerable by the report")
