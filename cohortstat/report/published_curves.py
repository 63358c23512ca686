"""The published form of an outcome's curve data (:class:`cohortstat.analysis.curves.OutcomeCurves`).

- numbers at risk under the curves are counts of the ledger: each a count of its own (the same key as
  the outcome's at-risk count when the population and the value are the same), chained in time so
  that no two adjacent published numbers differ by 1..k-1 (a difference is a count of persons); in a
  matched study the first is part of the matched group (the difference, persons not at risk, latent);
- a curve is drawn only through the corners of :func:`cohortstat.report.protect.coarsen_cif` (each
  step holds at least ``k`` events; nothing where fewer than ``k`` are at risk) with its confidence
  limits at those corners; in the cohort (or weighted cohort) the curve of a group whose event (or
  death) count is suppressed is not drawn;
- cumulative incidence at fixed times (1, 5, 10 years) is the exact Aalen-Johansen value at t (not
  a reading of the drawn curve), gated by the curves' rule read at the fixed times. The value of a
  cause in a group at t is published when (1) the group's curve is drawn (its count of the cause is
  published, in the cohort or its weighted form), (2) at least ``k`` persons are at risk at t (the
  curves stop where fewer than ``k`` are), and (3) the persons with the cause by t, counted since the
  previous *published* fixed time of the curve (or since 0), are 0 or at least ``k``: each published
  value is a step of 0 or at least ``k`` events from the one before it, as every drawn step is. A
  value that fails a condition is not published (None; "not shown" in the report), and the next time
  is compared with the last published one.
  The published fixed times are also breaks of the drawn curve (:func:`coarsen_cif` ``breaks``): no
  drawn step spans one, so the figure passes through the table's values and a difference between a
  drawn corner and a tabulated value is again a whole number of steps of at least ``k`` events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohortstat.report.protect import coarsen_cif

__all__ = ["cohort_breaks", "declare_curves", "fixed_times_rows", "published_times", "shown_at_risk",
           "shown_curves"]

_COUNT_KEY = {"outcome": "events", "death": "competing"}
_EMPTY = ["group", "time", "n_risk", "estimate", "ci_lower", "ci_upper"]


def declare_curves(ctx, o) -> None:
    """Declare the numbers at risk of ``o.curves`` in the report's ledger (``ctx.curve_at_risk``)."""
    curves = getattr(o, "curves", None)
    if curves is None:
        return
    led = ctx.ledger
    for g in ctx.groups:
        steps = []
        part = curves.at_risk.loc[curves.at_risk["group"] == g].sort_values("year")
        for a in part.to_dict("records"):
            year, n = int(a["year"]), int(a["n_risk"])
            same = ctx.at_risk.get((o.name, g, year)) if curves.population != "matched" else None
            key = ctx.same_as(same, n, ("curve_at_risk", o.name, g, year))
            ctx.curve_at_risk[(o.name, g, year)] = key
            steps.append(key)
        if steps and curves.population == "matched" and g in ctx.matched:
            led.total(ctx.matched[g], [steps[0]], "matched at risk")  # the gap (not at risk) is latent
        if len(steps) > 1:
            led.chain(steps, f"curve at risk {o.name} {g}", spans=False)


def shown_at_risk(p, o) -> pd.DataFrame:
    """``group, year, n_risk`` as published (ints, ``"<k"`` or ``"*"``)."""
    rows = [{"group": a["group"], "year": int(a["year"]),
             "n_risk": p.show(p.ctx.curve_at_risk[(o.name, a["group"], int(a["year"]))])}
            for a in o.curves.at_risk.to_dict("records")]
    return pd.DataFrame(rows, columns=["group", "year", "n_risk"])


def _group_hidden(p, o, cause: str, g: str) -> bool:
    """In the cohort (or its weighted form, the same persons), a curve whose count is hidden is not drawn."""
    return o.curves.population != "matched" and p.hidden((_COUNT_KEY[cause], o.name, g))


def published_times(p, o, cause: str, g: str) -> tuple[float, ...]:
    """The fixed times (days) at which the value of ``cause`` in group ``g`` is published (module docstring)."""
    ft = o.curves.fixed_times
    if not len(ft) or "n_events" not in ft or _group_hidden(p, o, cause, g):
        return ()
    k = p.ledger.k
    rows = ft.loc[(ft["cause"] == cause) & (ft["group"] == g)].sort_values("time")
    out, before = [], 0
    for r in rows.to_dict("records"):
        if not np.isfinite(float(r["estimate"])) or int(r["n_risk"]) < k or 0 < int(r["n_events"]) - before < k:
            continue
        out.append(float(r["time"]))
        before = int(r["n_events"])
    return tuple(out)


def cohort_breaks(p, o, g: str) -> tuple[float, ...]:
    """The published fixed times of the outcome in group ``g`` when the curves describe the cohort itself,
    as breaks of the outcome's cohort curve read elsewhere (``cif_by_year``); none otherwise."""
    curves = getattr(o, "curves", None)
    if curves is None or curves.population != "cohort":
        return ()
    return published_times(p, o, "outcome", g)


def shown_curves(p, o, groups) -> dict:
    """``{cause: corners}`` that may be drawn: ``group, time, n_risk, estimate, ci_lower, ci_upper``."""
    out = {}
    for cause, cif in o.curves.cif.items():
        parts = []
        for g in groups:
            c = cif.loc[cif["group"] == g]
            if not len(c) or _group_hidden(p, o, cause, g):
                continue
            corners = coarsen_cif(c, p.ledger.k, breaks=published_times(p, o, cause, g))
            corners.insert(0, "group", g)
            parts.append(corners)
        out[cause] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_EMPTY)
    return out


def _percent(v) -> float | None:
    return None if v is None or not np.isfinite(float(v)) else round(100 * float(v), 10)


def fixed_times_rows(p, o, groups, labels: dict) -> list[dict]:
    """Cumulative incidence (%) at the fixed times, per cause and group, as published (None: not shown)."""
    shown = {(cause, g): published_times(p, o, cause, g) for cause in o.curves.cif for g in groups}
    rows = []
    for r in o.curves.fixed_times.to_dict("records"):
        cause, g = r["cause"], r["group"]
        ok = float(r["time"]) in shown.get((cause, g), ())
        rows.append({"outcome": o.name, "outcome_label": o.label, "cause": cause, "group": g,
                     "group_label": labels.get(g, g), "population": o.curves.population, "year": int(r["year"]),
                     "cif_percent": _percent(r["estimate"]) if ok else None,
                     "ci_lower_percent": _percent(r["ci_lower"]) if ok else None,
                     "ci_upper_percent": _percent(r["ci_upper"]) if ok else None})
    return rows
