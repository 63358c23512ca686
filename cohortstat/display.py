"""Results in a notebook: ``_repr_html_`` (HTML tables Jupyter renders) and text summaries.

Hooks only: the result classes (:class:`cohortstat.models._results.RegressionResult`,
:class:`cohortstat.analysis.results.StudyResults`) call these functions, which read their tidy tables.
What is shown is the analyst's own, unsuppressed results (as the objects hold them); the publishable
form, with small counts suppressed, is the report (:func:`cohortstat.write_report`).
"""

from __future__ import annotations

import html

import pandas as pd

__all__ = ["regression_html", "study_html", "study_summary"]

_MODEL_LABELS = {"cox_crude": "Cox, crude", "cox_adjusted": "Cox, adjusted", "cox_ps": "Cox, PS-adjusted",
                 "fg_crude": "Fine-Gray, crude", "fg_adjusted": "Fine-Gray, adjusted", "fg_ps": "Fine-Gray, PS-adjusted"}


def _frame_html(df: pd.DataFrame, digits: int = 4) -> str:
    return df.to_html(index=False, float_format=lambda v: f"{v:.{digits}g}", border=0, na_rep="-", escape=True)


def regression_html(res, level: float = 0.95) -> str:
    """A fitted hazard model as HTML: title, n and events, the coefficient table, global tests, notes."""
    tab = res.table(level)
    tests = "; ".join(f"{name} {t.stat:.4g} on {t.df} df, p = {t.p:.4g}"
                      for name, t in (("LR", res.lr_test), ("Wald", res.wald_test), ("score", res.score_test)))
    parts = [f"<p><b>{html.escape(res._title())}</b>: n = {res.n:,}, events = {res.n_events:,}; "
             f"{'converged' if res.converged else '<b>not converged</b>'} in {res.iterations} iteration(s)</p>",
             _frame_html(tab), f"<p>Global tests: {html.escape(tests)}</p>"]
    if res.notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in res.notes) + "</ul>")
    return "<div>" + "\n".join(parts) + "</div>"


def _exposure_rows(results) -> pd.DataFrame:
    rows = []
    for o in results.outcomes:
        if not len(o.models):
            continue
        for r in o.models.loc[o.models["term"] == "exposure"].to_dict("records"):
            rows.append({"outcome": o.label, "model": _MODEL_LABELS.get(r["model"], r["model"]),
                         "events": r.get("n_events"), "HR": r["hr"], "95% CI lower": r["ci_lower"],
                         "95% CI upper": r["ci_upper"], "p": r["p"]})
    return pd.DataFrame(rows)


def _rates(results) -> pd.DataFrame:
    rows = []
    for o in results.outcomes:
        for r in o.rates.to_dict("records"):
            rows.append({"outcome": o.label, "group": results.labels.get(r["group"], r["group"]),
                         "patients": r["n"], "events": r["events"], "person-years": r["person_years"],
                         "rate per 1000 PY": r["rate"]})
    return pd.DataFrame(rows)


def study_summary(results) -> str:
    """A text summary of a study's results: groups, cohort size, exposure hazard ratios by outcome."""
    final = results.attrition.iloc[-1] if len(results.attrition) else {}
    lines = [f"{results.study.title}", f"confounding: {results.confounding_method}; engine: {results.engine}"]
    for g in results.groups:
        n = final.get(f"n_{g}") if hasattr(final, "get") else None
        lines.append(f"  {results.labels.get(g, g)}: {n:,} patients" if n is not None else f"  {g}")
    ex = _exposure_rows(results)
    if len(ex):
        lines += ["", "Exposure hazard ratios:"]
        with pd.option_context("display.width", 140, "display.max_columns", 20):
            lines.append(ex.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if results.notes:
        lines += ["", "notes:"] + [f"  - {n}" for n in results.notes]
    return "\n".join(lines)


def study_html(results) -> str:
    """A study's results as HTML: cohort size, incidence and exposure hazard ratios per outcome."""
    parts = [f"<p><b>{html.escape(str(results.study.title))}</b> (confounding: "
             f"{html.escape(results.confounding_method)}; engine: {html.escape(results.engine)})</p>"]
    rates = _rates(results)
    if len(rates):
        parts += ["<p>Incidence</p>", _frame_html(rates)]
    ex = _exposure_rows(results)
    if len(ex):
        parts += ["<p>Exposure hazard ratios</p>", _frame_html(ex, 3)]
    return "<div>" + "\n".join(parts) + "</div>"
