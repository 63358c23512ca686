"""Notes as structured data: counts are fields tied to the tables, other numbers are never suppressed."""

from __future__ import annotations

import pytest

from cohortstat.report.disclosure import Ledger
from cohortstat.report.notes import NOTE_TEMPLATES, parse_note


class _Ctx:
    """The minimum of :class:`cohortstat.report.protect.Context` the templates use."""

    def __init__(self):
        self.ledger = Ledger(10)

    def own(self, key, value, cost=1):
        return self.ledger.count(key, value, cost=cost)

    def not_at_risk(self, outcome, group, value):
        return self.own(("not_at_risk", outcome, group), value)

    def other_causes(self, outcome, model, value):
        return self.own(("other", outcome, model), value)

    def cohort_total(self, group, value):
        return self.own(("total", group), value)

    def matched_total(self, group, value):
        return self.own(("matched", group), value)

    def matched_sets(self, value, key):
        return self.own(("sets",), value)

    def ps_rows(self, rows, treated):
        return {"rows": self.own(("rows",), rows), "treated": self.own(("treated",), treated)}


def _publish(text: str) -> str:
    ctx = _Ctx()
    note = parse_note(text, ctx)
    ctx.ledger.solve()
    return note.render(ctx.ledger)


@pytest.mark.parametrize("text, published", [
    ("outcome lung: not at risk (outcome on or before follow-up start: prevalent or during blanking), "
     "time/event left empty: trauma 35, sepsis 6.",
     "outcome lung: not at risk (outcome on or before follow-up start: prevalent or during blanking), "
     "time/event left empty: trauma 35, sepsis <10."),
    ("matching: 1983 of 1986 sepsis and 1983 of 5000 trauma patients matched in 1983 sets",
     "matching: 1983 of 1986 sepsis and 1983 of 5000 trauma patients matched in 1983 sets"),
    ("lung cox_crude: 7 event(s) of other causes treated as censored (cause-specific hazard of cause 1)",
     "lung cox_crude: <10 event(s) of other causes treated as censored (cause-specific hazard of cause 1)"),
    ("propensity score: logistic regression on 6 terms, 2371 rows, 8 treated",
     "propensity score: logistic regression on 6 terms, 2371 rows, <10 treated"),
    ("exact matching on sex: 2 strata", "exact matching on sex: 2 strata"),
    ("caliper 0.2 SD of the score = 0.128323", "caliper 0.2 SD of the score = 0.128323"),
    ("lung cox_ps: robust variance clustered on 'matched_set' (4 clusters)",
     "lung cox_ps: robust variance clustered on 'matched_set' (<10 clusters)"),
    ("lung fg_adjusted: 3 row(s) dropped for missing values (age 3)",
     "lung fg_adjusted: <10 row(s) dropped for missing values (age <10)"),
    ("lung cox_adjusted: 42 row(s) dropped for missing values (age 42)",
     "lung cox_adjusted: 42 row(s) dropped for missing values (age 42)"),
    ("lung cox_adjusted: 45 row(s) dropped for missing values (age 42, calendar_year 3)",
     "lung cox_adjusted: 45 row(s) dropped for missing values (age 42, calendar_year <10)"),
    ("Charlson index (Quan 2005 ICD-10 coding, Charlson 1987 weights) from diagnoses in every role of stays "
     "admitted from 730 days before the index admission to the index discharge, index stay included.", None),
    ("after matching, 2 covariate(s) have |SMD| > 0.1: age, female; consider a narrower caliper", None),
])
def test_known_notes_suppress_counts_and_only_counts(text, published):
    assert _publish(text) == (published or text)


def test_an_unknown_note_is_suppressed_conservatively_including_a_count_before_a_period():
    assert _publish("something odd: sepsis 6.") == "something odd: sepsis <10."
    assert _publish("something odd: 3 patients, 12 stays") == "something odd: <10 patients, 12 stays"
    # numbers that are not counts keep their value even in an unknown note
    assert _publish("model of cause 1 on 3 terms over 730 days, caliper 0.2 SD") == (
        "model of cause 1 on 3 terms over 730 days, caliper 0.2 SD")


def test_every_template_with_counts_declares_them_as_named_groups():
    for t in NOTE_TEMPLATES:
        assert set(t.counts) <= set(t.pattern.groupindex), t.name
        assert bool(t.counts) == (t.link is not None), t.name
