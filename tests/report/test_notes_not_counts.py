"""Numbers of a note that are not counts of persons (terms, strata, days) are never suppressed."""

from __future__ import annotations

import pytest

from cohortstat.report.labels import human_text
from cohortstat.report.notes import parse_note


class _Ctx:
    """Declares every count as its own ledger key (the key is the value)."""

    def own(self, key, value, cost=1):
        return ("own", value)

    def ps_rows(self, rows, treated):
        return {"rows": ("rows", rows), "treated": ("treated", treated)}


@pytest.mark.parametrize("text, kept", [
    ("propensity score: logistic regression on 7 terms, 3000 rows, 500 exposed", "7 terms"),
    ("exact matching on _age_band, sex: 4 strata", "4 strata"),
    ("an unknown note: 3 terms kept, 5 patients", "3 terms"),
])
def test_non_count_numbers_are_not_fields(text, kept):
    note = parse_note(text, _Ctx())
    start = text.index(kept)
    assert not any(s <= start < e for s, e, _ in note.spans)


def test_counts_of_an_unknown_note_are_fields_and_internal_names_are_renamed():
    note = parse_note("an unknown note: 3 terms kept, 5 patients", _Ctx())
    assert [text for text in ("5",) if any(note.text[s:e] == text for s, e, _ in note.spans)] == ["5"]
    assert human_text("exact matching on _age_band, sex: 4 strata") == "exact matching on age band, sex: 4 strata"
    assert "_" not in human_text("balance of cci_mi and _logit_ps")
