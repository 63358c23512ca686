"""The figures of a report, drawn from its published data, and the same figures for notebooks.

:func:`report_figures` returns every figure of a report as :class:`~cohortstat.report.style.Rendered`
(inline SVG for report.html, PNG at 300 dpi for ``figures/*.png``). :func:`plot_cif` and :func:`forest`
(``cs.plot_cif``, ``cs.forest``) give the same figures as matplotlib figures for custom use; they go
through the same disclosure control as the report (``min_cell_count``).

Every count drawn is its own SVG text element with an id starting ``count`` (read by
:func:`cohortstat.report.suppression.scan_outputs`); counts arrive already suppressed.
"""

from __future__ import annotations

import pandas as pd

from cohortstat.constants import MODEL_LABELS
from cohortstat.report.figures_cif import cif_figure
from cohortstat.report.figures_flow import flow_figure
from cohortstat.report.figures_forest import forest_figure, grid_forest_figure
from cohortstat.report.style import Rendered, inline_svg, render

__all__ = ["forest", "inline_svg", "plot_cif", "report_figures"]

_SOURCES = {"pmsi": "the PMSI-MCO hospital discharge data",
            "snds": "the SNDS (PMSI-MCO hospital stays and beneficiaries)",
            "omop": "an OMOP common data model database"}
_POPULATION = {"cohort": "", "matched": " (matched population)", "weighted": " (weighted population)"}


def _source_text(results, data: dict) -> str:
    study = results.study
    src = (data.get("provenance") or {}).get("source")
    where = _SOURCES.get(src, f"the {src} data" if src else "the study data")
    return (f"Source population: patients with a hospital stay in {where}, "
            f"{study.study_period.start} to {study.study_period.end}")


def _cif(p, o, groups, labels) -> object:
    from cohortstat.analysis.curves import display_years
    from cohortstat.report.published_curves import shown_at_risk, shown_curves

    c = o.curves
    titles = {"outcome": f"{o.label}{_POPULATION.get(c.population, '')}",
              "death": "Death (competing event)"}
    return cif_figure(shown_curves(p, o, groups), shown_at_risk(p, o), groups=groups, labels=labels, titles=titles,
                      years=display_years(c.follow_up_years), follow_up_years=c.follow_up_years)


def _events_text(p, outcome: str, model: str) -> str:
    keys = p.ctx.group_events.get(("main", outcome, model))
    if not keys:
        return "-"
    shown = [p.show(k) for k in keys[1]]
    return " / ".join("-" if v is None else v if isinstance(v, str) else f"{int(v):,}" for v in shown)


def _forest_rows(results, p, model_rows: list[dict]) -> pd.DataFrame:
    rows = []
    for r in model_rows:  # the results table's order: outcomes as in the study, models as fitted
        if r.get("term") != "exposure":
            continue
        rows.append({"outcome": r["outcome"], "model": r["model"], "hr": r.get("hr"), "ci_lower": r.get("ci_lower"),
                     "ci_upper": r.get("ci_upper"), "events": _events_text(p, r["outcome"], r["model"])})
    frame = pd.DataFrame(rows, columns=["outcome", "model", "hr", "ci_lower", "ci_upper", "events"])
    for col in ("hr", "ci_lower", "ci_upper"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


def _human(name: str) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _grid_label(r: dict) -> str:
    if r.get("subgroup"):
        label = f"{_human(r['subgroup'])}: {r['level']}"
    elif r.get("period"):
        label = f"Days {r['period']}"
    else:
        return "Main analysis" if r["analysis"] == "main" else f"Sensitivity: {r['analysis'].replace('_', ' ')}"
    return label if r["analysis"] == "main" else f"{r['analysis'].replace('_', ' ')}, {label}"


def _grid_rows(data: dict, outcomes) -> tuple[pd.DataFrame, str]:
    """Rows of the grid forest: main, then variants, subgroup levels and periods, for one model (the
    adjusted or PS-adjusted Cox model); the study's outcomes only (no negative control), in study order."""
    names = [o.name for o in outcomes]
    est = [r for r in data.get("estimates", []) if r.get("term") == "exposure" and r.get("model") == "cox"
           and r.get("outcome") in names]
    if not est:
        return pd.DataFrame(), ""
    adjustment = "ps" if any(r.get("adjustment") == "ps" for r in est) else "adjusted"
    rows = [{"row": _grid_label(r), "outcome": r["outcome"], "hr": r.get("estimate"), "ci_lower": r.get("ci_lower"),
             "ci_upper": r.get("ci_upper")}
            for r in est if r.get("adjustment") == adjustment or r.get("subgroup") or r.get("period")]
    frame = pd.DataFrame(rows).drop_duplicates(["row", "outcome"])
    frame["order"] = frame["outcome"].map({n: i for i, n in enumerate(names)})
    frame = frame.sort_values("order", kind="stable").drop(columns="order")
    for col in ("hr", "ci_lower", "ci_upper"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    title = f"Cox, {'PS-adjusted' if adjustment == 'ps' else 'adjusted'}: exposure hazard ratio by analysis"
    return frame, title


def report_figures(results, data: dict, protected, model_rows: list[dict]) -> dict[str, Rendered]:
    """Every figure of a report (name -> SVG and PNG), drawn from the published data only."""
    groups, labels = tuple(results.groups), dict(results.labels)
    out: dict[str, Rendered] = {}
    out["attrition"] = render(flow_figure(pd.DataFrame(data["attrition"]), groups=groups, labels=labels,
                                          source=_source_text(results, data)))
    forest_rows = _forest_rows(results, protected, model_rows)
    if len(forest_rows):
        out["forest"] = render(forest_figure(forest_rows, outcome_labels={o.name: o.label for o in results.outcomes},
                                             model_labels=MODEL_LABELS))
    grid, title = _grid_rows(data, results.outcomes)
    if len(grid) and grid["row"].nunique() > 1:
        out["forest_grid"] = render(grid_forest_figure(grid, outcome_labels={o.name: o.label for o in
                                                                             results.outcomes}, title=title))
    for o in results.outcomes:
        if getattr(o, "curves", None) is not None:
            out[f"cif_{o.name}"] = render(_cif(protected, o, groups, labels))
    out.update(_balance_figures(results, data, protected))
    return out


def _balance_figures(results, data: dict, protected) -> dict[str, Rendered]:
    from cohortstat.report.figures_balance import love_figure, preference_figure
    from cohortstat.report.published import shown_preference

    out = {}
    if data["balance"]:
        balance = pd.DataFrame(data["balance"]).astype({"smd_before": float, "smd_after": float})
        out["balance"] = render(love_figure(balance, after_label=results.confounding_method))
    if results.preference is not None and len(results.preference):
        out["preference"] = render(preference_figure(shown_preference(protected, results.preference)))
    return out


def plot_cif(results, outcome: str | None = None, *, min_cell_count: int = 10):
    """The cumulative-incidence figure of one outcome, as in the report (matplotlib ``Figure``).

    Parameters
    ----------
    results : cohortstat.analysis.StudyResults
        From :func:`cohortstat.analyze`.
    outcome : str, optional
        Outcome name (default: the study's first outcome).
    min_cell_count : int, default 10
        Disclosure control as in the report: numbers at risk from 1 to ``min_cell_count - 1`` shown as
        ``"<k"``, curves drawn only through steps of at least ``min_cell_count`` events.

    Returns
    -------
    matplotlib.figure.Figure
        Left panel: the outcome, right panel: death (competing event), each group with its 95%
        confidence band; numbers at risk under both. Save with ``fig.savefig("cif.pdf")``.

    Raises
    ------
    ReportError
        Unknown outcome, or results without curve data.
    """
    from cohortstat.errors import ReportError
    from cohortstat.report.protect import declare

    names = [o.name for o in results.outcomes]
    name = outcome if outcome is not None else (names[0] if names else None)
    o = next((o for o in results.outcomes if o.name == name), None)
    if o is None or getattr(o, "curves", None) is None:
        raise ReportError(f"outcome must be one of {', '.join(names) or '(none)'} with curve data; got {outcome!r}")
    p = declare(results, int(min_cell_count))
    return _cif(p, o, tuple(results.groups), dict(results.labels))


def forest(results, *, models=None, min_cell_count: int = 10):
    """The forest plot of the report (exposure HR per outcome and model), as a matplotlib ``Figure``.

    Parameters
    ----------
    results : cohortstat.analysis.StudyResults
    models : sequence of str, optional
        Model names to draw (``cox_crude``, ``cox_adjusted``, ``fg_crude``, ``fg_adjusted``, ``cox_ps``,
        ``fg_ps``); default all fitted, in the results table's order.
    min_cell_count : int, default 10
        Event counts beside the bars suppressed as in the report.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from cohortstat.errors import ReportError
    from cohortstat.report.published import publish_data

    data, p = publish_data(results, int(min_cell_count))
    rows = [{"outcome": name, **r} for name, o in data["outcomes"].items() for r in o["models"]]
    frame = _forest_rows(results, p, rows)
    if models is not None:
        unknown = sorted(set(models) - set(MODEL_LABELS))
        if unknown:
            raise ReportError(f"models: unknown {', '.join(unknown)}; allowed: {', '.join(MODEL_LABELS)}")
        frame = frame.loc[frame["model"].isin(list(models))]
    if not len(frame):
        raise ReportError("no exposure hazard ratio to draw (no model fitted, or none of the models asked for)")
    return forest_figure(frame, outcome_labels={o.name: o.label for o in results.outcomes}, model_labels=MODEL_LABELS)
