"""Publication tables of a study's designs: sensitivity analyses, subgroups, periods, empirical calibration.

Built from the published estimates table (``data["estimates"]``: one row per estimate, counts already
suppressed by :mod:`cohortstat.report.writer`); nothing is computed here, values are only chosen and
formatted. Each function returns ``None`` when the study has no such design.
"""

from __future__ import annotations

from cohortstat.report.pubtables import SUPPRESSED_NOTE, Row, Table, fmt

__all__ = ["design_tables"]

_MODELS = {"cox": "Cox", "fine_gray": "Fine-Gray"}
_ADJUSTED = ("matched", "weighted", "adjusted")  # the analysis's own adjusted estimate, in order of preference


def _p(v) -> str:
    return "-" if v is None else ("<0.001" if v < 0.001 else f"{v:.3f}")


def _hr(r: dict | None, lo: str = "ci_lower", hi: str = "ci_upper") -> str:
    if r is None or r.get("estimate") is None:
        return "-"
    return f"{fmt(r['estimate'], 2)} ({fmt(r.get(lo), 2)} to {fmt(r.get(hi), 2)})"


def _events(r: dict | None) -> str:
    if r is None:
        return "-"
    return f"{fmt(r.get('events_exposed'))} / {fmt(r.get('events_reference'))}"


def _plain(rows: list[dict], analysis: str = "main") -> list[dict]:
    """Exposure rows of one analysis, not split by subgroup or period."""
    return [r for r in rows if r["analysis"] == analysis and r["term"] == "exposure"
            and not r.get("subgroup") and not r.get("period")]


def _primary(rows: list[dict], outcome: str, model: str = "cox") -> dict | None:
    """The analysis's adjusted estimate of ``outcome`` (matched or weighted when it has one)."""
    for adj in _ADJUSTED:
        for r in rows:
            if r["outcome"] == outcome and r["model"] == model and r["adjustment"] == adj:
                return r
    return None


def _labels(data: dict) -> dict[str, str]:
    return {name: o["label"] for name, o in data["outcomes"].items()}


def _notes(data: dict, first: str) -> list[str]:
    k = data["min_cell_count"]
    return [first, "Events: exposed / reference group. " + SUPPRESSED_NOTE.format(k=k, k1=k - 1)]


def sensitivity_table(data: dict, variants: dict[str, str]) -> Table | None:
    """Adjusted Cox hazard ratio of each outcome in the main analysis and each sensitivity analysis."""
    rows = data.get("estimates") or []
    if not variants:
        return None
    names = ["main", *variants]
    header = [[("Outcome", 1), ("Analysis", 1), ("Events", 1), ("HR (95% CI)", 1), ("p", 1),
               ("Model", 1)]]
    t = Table("Sensitivity", "Sensitivity analyses: exposure hazard ratio of each outcome",
              header, text_columns=(0, 1, 5))
    for outcome, label in _labels(data).items():
        first = True
        for name in names:
            r = _primary(_plain(rows, name), outcome)
            if r is None:
                continue
            how = "main analysis" if name == "main" else variants[name]
            t.rows.append(Row([label if first else "", how, _events(r), _hr(r), _p(r.get("p")),
                               f"Cox, {r['adjustment']}"]))
            first = False
    t.notes = _notes(data, "Cause-specific Cox model of each analysis, adjusted as that analysis asks (covariates, "
                           "matched sample or weights); every estimate of every model is in tables/estimates.csv.")
    return t


def subgroup_table(data: dict) -> Table | None:
    """Hazard ratio per subgroup level, with the likelihood-ratio test of interaction."""
    rows = [r for r in data.get("estimates") or [] if r["analysis"] == "main" and r.get("subgroup")]
    if not rows:
        return None
    header = [[("Outcome", 1), ("Subgroup", 1), ("Level", 1), ("Events", 1), ("HR (95% CI)", 1),
               ("p for interaction", 1)]]
    t = Table("Subgroups", "Exposure hazard ratio by subgroup", header, text_columns=(0, 1, 2))
    for outcome, label in _labels(data).items():
        mine = [r for r in rows if r["outcome"] == outcome and r["model"] == "cox"]
        first = True
        for sub in dict.fromkeys(r["subgroup"] for r in mine):
            test = next((r for r in mine if r["subgroup"] == sub and r["term"] == "interaction"), None)
            levels = [r for r in mine if r["subgroup"] == sub and r["term"] == "exposure"]
            for i, r in enumerate(levels):
                t.rows.append(Row([label if first else "", sub.replace("_", " ") if i == 0 else "", str(r["level"]),
                                   _events(r), _hr(r), _p(test.get("p")) if test and i == 0 else ""]))
                first = False
    t.notes = _notes(data, "Adjusted Cox model within each level; p for interaction: likelihood-ratio test of the "
                           "exposure-by-subgroup terms.")
    return t


def period_table(data: dict) -> Table | None:
    """Hazard ratio per follow-up period, with the test of heterogeneity across periods."""
    every = [r for r in data.get("estimates") or [] if r["analysis"] == "main" and r["model"] == "cox"]
    rows = [r for r in every if r.get("period") or r["term"] == "heterogeneity"]  # the test has no period
    if not any(r.get("period") for r in rows):
        return None
    header = [[("Outcome", 1), ("Days after discharge", 1), ("Events", 1), ("HR (95% CI)", 1),
               ("p for heterogeneity", 1)]]
    t = Table("Periods", "Exposure hazard ratio by period of follow-up", header, text_columns=(0, 1))
    for outcome, label in _labels(data).items():
        mine = [r for r in rows if r["outcome"] == outcome and r["model"] == "cox"]
        test = next((r for r in mine if r["term"] == "heterogeneity"), None)
        for i, r in enumerate(x for x in mine if x["term"] == "exposure"):
            t.rows.append(Row([label if i == 0 else "", str(r["period"]).replace("-", " to "), _events(r), _hr(r),
                               _p(test.get("p")) if test and i == 0 else ""]))
    t.notes = _notes(data, "Adjusted Cox model with the exposure effect split by period of follow-up; p for "
                           "heterogeneity: test that the period hazard ratios are equal.")
    return t


def calibration_table(data: dict) -> Table | None:
    """Uncalibrated and calibrated hazard ratios of the outcomes, and the negative controls' estimates."""
    rows = _plain(data.get("estimates") or [])
    if not any(r.get("calibrated_p") is not None for r in rows):
        return None
    header = [[("Outcome", 1), ("Model", 1), ("HR (95% CI)", 1), ("p", 1), ("Calibrated 95% CI", 1),
               ("Calibrated p", 1)]]
    t = Table("Calibration", "Empirical calibration on negative-control outcomes", header,
              text_columns=(0, 1))
    labels = _labels(data)
    for outcome, label in labels.items():
        first = True
        for r in (x for x in rows if x["outcome"] == outcome and x.get("calibrated_p") is not None):
            cal = "-" if r.get("calibrated_ci_lower") is None else (
                f"{fmt(r['calibrated_ci_lower'], 2)} to {fmt(r.get('calibrated_ci_upper'), 2)}")
            t.rows.append(Row([label if first else "", f"{_MODELS[r['model']]}, {r['adjustment']}",
                               _hr(r), _p(r.get("p")), cal, _p(r.get("calibrated_p"))]))
            first = False
    controls = sorted({r["outcome"] for r in rows if r["outcome"] not in labels})
    t.rows.append(Row(["Negative controls (true hazard ratio assumed 1)"], section=True))
    for name in controls:
        r = _primary([x for x in rows if x["outcome"] == name], name)
        t.rows.append(Row([name.removeprefix("nc_").replace("_", " "), "Cox, adjusted", _hr(r), _p(r and r.get("p")),
                           "", ""]))
    t.notes = _notes(data, "Calibration (Schuemie et al. 2014, 2018): a normal systematic-error distribution fitted "
                           "by maximum likelihood to the negative controls' estimates, accounting for each one's "
                           "standard error, then applied to each outcome's estimate.")
    return t


def design_tables(data: dict, variants: dict[str, str]) -> list[Table]:
    """The design tables the study has, in order (``variants``: name -> short description)."""
    tables = (sensitivity_table(data, variants), subgroup_table(data), period_table(data), calibration_table(data))
    shown = [t for t in tables if t is not None]
    for number, t in enumerate(shown, start=4):  # Tables 1-3: characteristics, incidence, hazard ratios
        t.title = f"Table {number}. {t.title}"
    return shown
