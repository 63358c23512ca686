"""One ledger for every output: the same count is hidden everywhere, notes follow the tables."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from cohortstat.report.disclosure import SECONDARY
from cohortstat.report.protect import declare


def _results(final_exposed: int, matched_exposed: int, notes=()):
    att = pd.DataFrame({
        "step": [0, 1, 2], "rule_id": ["entry", "adult", "matching"], "description": ["e", "a", "m"],
        "n_sep": [2500, final_exposed, matched_exposed], "n_tra": [9000, 5000, matched_exposed],
    })
    t1 = pd.DataFrame({
        "variable": ["Patients", "Sex", "Sex"], "level": ["", "male", "female"], "kind": ["n", "categorical",
                                                                                     "categorical"],
        "n_sep": [final_exposed, final_exposed - 900, 900], "n_tra": [5000, 2500, 2500],
    })
    study = SimpleNamespace(analyses=SimpleNamespace(confounding=SimpleNamespace(ratio=1)))
    return SimpleNamespace(groups=("sep", "tra"), attrition=att, table_one=t1, outcomes=(), balance=None,
                           preference=None, notes=tuple(notes), study=study)


def test_the_matching_note_hides_what_the_attrition_hides():
    # "1983 of 1986 matched": 3 unmatched patients, hidden in the attrition, must not be computable
    note = "matching: 1983 of 1986 sep and 1983 of 5000 tra patients matched in 1983 sets"
    p = declare(_results(1986, 1983, [note]), 10)
    assert p.show(("att_excl", 2, "sep")) == "<10"
    shown = p.notes[0].render(p.ledger)
    a, b = shown.split(" of ")[0].split()[-1], shown.split(" of ")[1].split()[0]
    assert SECONDARY in (a, b) and shown.endswith(f"matched in {a} sets")
    # the hidden side is hidden in the attrition too (one variable shown in two places)
    assert p.show(("att", 2, "sep")) == a or p.show(("att", 1, "sep")) == b
    # 1:1 matching: as many matched controls as matched exposed, so the controls' count goes too
    assert "1983" not in shown
    assert p.show(("att", 2, "tra")) == SECONDARY
    assert isinstance(p.show(("att_excl", 2, "tra")), str)  # else 5000 - 3017 gives the matched count


def test_table_one_total_is_the_attrition_count():
    p = declare(_results(1986, 1983), 10)
    t1_total = p.t1_keys["totals"]["sep"]
    assert t1_total == ("att", 1, "sep")  # not a second number that could disagree with the hidden one


def test_a_small_count_in_a_note_followed_by_a_period_is_suppressed():
    note = ("outcome lung: not at risk (outcome on or before follow-up start: prevalent or during blanking), "
            "time/event left empty: sep 35, tra 6.")
    p = declare(_results(1986, 1983, [note]), 10)
    assert p.notes[0].render(p.ledger).endswith("sep 35, tra <10.")
