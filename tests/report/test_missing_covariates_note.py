"""Table 3's note on the patients the adjusted models left out for a missing covariate (from their notes)."""

from __future__ import annotations

from cohortstat.report.pubtables import hazard_ratio_table


def _data(notes: dict) -> dict:
    return {"min_cell_count": 10, "outcomes": {name: {"label": label, "models": [], "notes": n}
                                              for name, (label, n) in notes.items()}}


def test_the_rows_left_out_are_listed_per_outcome_and_suppressed_as_published():
    t = hazard_ratio_table(_data({
        "lung": ("Lung cancer", ["lung cox_adjusted: 42 row(s) dropped for missing values (age 42)",
                                 "lung fg_adjusted: 42 row(s) dropped for missing values (age 42)",
                                 "lung cox_crude: 7 event(s) of other causes treated as censored"]),
        "skin": ("Skin cancer", ["skin cox_adjusted: <10 row(s) dropped for missing values (age <10)",
                                 "skin fg_adjusted: * row(s) dropped for missing values (calendar_year *)"]),
        "breast": ("Breast cancer", [])}))
    note = next(n for n in t.notes if n.startswith("Missing covariates"))
    assert "Lung cancer 42 (age 42)" in note
    assert "Skin cancer, Cox, adjusted <10 (age <10); Skin cancer, Fine-Gray, adjusted * (calendar year *)" in note
    assert "Breast" not in note


def test_no_note_without_missing_covariates():
    t = hazard_ratio_table(_data({"lung": ("Lung cancer", ["lung cox_crude: 7 event(s) of other causes"])}))
    assert not any(n.startswith("Missing covariates") for n in t.notes)
