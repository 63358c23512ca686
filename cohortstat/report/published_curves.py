"""The published form of an outcome's curve data (:class:`cohortstat.analysis.curves.OutcomeCurves`).

- numbers at risk under the curves are counts of the ledger: each a count of its own (the same key as
  the outcome's at-risk count when the population and the value are the same), chained in time so
  that no two adjacent published numbers differ by 1..k-1 (a difference is a count of persons); in a
  matched study the first is part of the matched group (the difference, persons not at risk, latent);
- a curve is drawn only through the corners of :func:`cohortstat.report.protect.coarsen_cif` (each
  step holds at least ``k`` events; nothing where fewer than ``k`` are at risk) with its confidence
  limits at those corners; in the cohort (or weighted cohort) the curve of a group whose event (or
  death) count is suppressed is not drawn;
- cumulative incidence at fixed times is read from the drawn curve (its last corner at or before t,
  so it can lag the exact estimate by fewer than ``k`` pooled events); it is not shown beyond the last
  time with ``k`` at risk, nor before the curve's first corner when events occurred by then.
"""

from __future__ import annotations

import pandas as pd

from cohortstat.analysis.curves import value_at
from cohortstat.report.protect import coarsen_cif

__all__ = ["declare_curves", "fixed_times_rows", "shown_at_risk", "shown_curves"]

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


def shown_curves(p, o, groups) -> dict:
    """``{cause: corners}`` that may be drawn: ``group, time, n_risk, estimate, ci_lower, ci_upper``."""
    out = {}
    for cause, cif in o.curves.cif.items():
        parts = []
        for g in groups:
            c = cif.loc[cif["group"] == g]
            if not len(c) or _group_hidden(p, o, cause, g):
                continue
            corners = coarsen_cif(c, p.ledger.k)
            corners.insert(0, "group", g)
            parts.append(corners)
        out[cause] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_EMPTY)
    return out


def fixed_times_rows(p, o, groups, labels: dict) -> list[dict]:
    """Cumulative incidence (%) at the fixed times, per cause and group, as published."""
    k = p.ledger.k
    shown = shown_curves(p, o, groups)
    rows = []
    for r in o.curves.fixed_times.to_dict("records"):
        cause, g = r["cause"], r["group"]
        raw = o.curves.cif[cause]
        raw = raw.loc[(raw["group"] == g) & (raw["n_risk"] >= k)]
        hidden = _group_hidden(p, o, cause, g) or not len(raw) or r["time"] > float(raw["time"].max())
        corners = shown[cause].loc[shown[cause]["group"] == g] if len(shown[cause]) else shown[cause]
        if not (corners["time"] <= r["time"]).any() and (raw["time"] <= r["time"]).any():
            hidden = True  # events by t, but too few for a drawn step: 0 would be wrong
        v = value_at(corners, r["time"]) if not hidden else {}
        pct = {c: (None if hidden or pd.isna(v[c]) else round(100 * float(v[c]), 10))
               for c in ("estimate", "ci_lower", "ci_upper")}
        rows.append({"outcome": o.name, "outcome_label": o.label, "cause": cause, "group": g,
                     "group_label": labels.get(g, g), "population": o.curves.population, "year": int(r["year"]),
                     "cif_percent": pct["estimate"], "ci_lower_percent": pct["ci_lower"],
                     "ci_upper_percent": pct["ci_upper"]})
    return rows
