"""Published standardized incidence ratios and study diagnostics (``results.json`` ``diagnostics``,
``tables/sir.csv``, ``tables/diagnostics.csv`` and the report's diagnostics section).

Their counts go through the report's disclosure ledger (:mod:`cohortstat.report.protect`):

- the observed events of a SIR are the outcome's events of the group (one count, shown or hidden with
  the incidence table); in a sensitivity variant they are a count of their own tied to the main one. A
  hidden count hides the SIR, its CI and p-value too (SIR x expected = observed);
- equipoise is hidden when the persons inside or outside the equipoise interval are a small count;
- the MDRR is hidden when the outcome's events of a group are (D follows from it and the exposed share);
- follow-up quartiles and person-years of a group are hidden when its number of persons at risk is.
"""

from __future__ import annotations

from cohortstat.report.published import _plain

__all__ = ["declare_diagnostics", "diagnostics_rows", "hide_sir_estimate", "publish_diagnostics", "sir_key"]


def sir_key(group: str) -> str:
    """The model key of a SIR row of the estimates table (``Context.group_events``)."""
    return f"sir:{group}"


def hide_sir_estimate(row: dict, keys, p) -> None:
    """Blank a SIR row of the estimates table (in place) when its observed count is hidden or unknown."""
    own = [k for k in (keys[1] if keys else ()) if k is not None]
    if not own or p.hidden(*own):
        row.update(estimate=None, ci_lower=None, ci_upper=None, p=None)


def _declare_sir(ctx, results, analysis: str) -> None:
    sir = getattr(results, "sir", None)
    if sir is None or not len(sir):
        return
    exposed = ctx.groups[0]
    for r in sir.to_dict("records"):
        o, g, observed = r["outcome"], r["group"], int(r["observed_events"])
        main_events = ("events", o, g)
        base = main_events if main_events in ctx.ledger.vars else None
        key = ctx.same_as(base, observed, ("sir_events", analysis, o, g))
        keys = (key, None) if g == exposed else (None, key)
        ctx.group_events[(analysis, o, sir_key(g))] = (None, keys)


def declare_diagnostics(ctx, results) -> None:
    """Declare the counts behind the SIRs and diagnostics of ``results`` and its variants (before solving)."""
    _declare_sir(ctx, results, "main")
    for name, variant in getattr(results, "variants", ()):
        _declare_sir(ctx, variant, name)
    diag = getattr(results, "diagnostics", None)
    counts = getattr(diag, "equipoise_counts", None)
    if counts:
        inside, total = counts
        ctx.own(("equipoise", "inside"), int(inside), cost=2)
        ctx.own(("equipoise", "outside"), int(total) - int(inside), cost=2)


def _sir(p, results) -> list[dict]:
    sir = getattr(results, "sir", None)
    if sir is None:
        return []
    out = []
    for r in sir.to_dict("records"):
        row = {k: _plain(v) for k, v in r.items()}
        keys = p.ctx.group_events.get(("main", r["outcome"], sir_key(r["group"])))
        key = next((k for k in (keys[1] if keys else ()) if k is not None), None)
        row["observed_events"] = p.show(key) if key is not None else None
        if key is None or p.hidden(key):
            row.update(sir=None, ci_lower=None, ci_upper=None, p=None)
        out.append(row)
    return out


def _hidden_events(p, outcome: str, groups) -> bool:
    keys = [("events", outcome, g) for g in groups]
    return any(k not in p.ledger.vars for k in keys) or p.hidden(*keys)


def publish_diagnostics(p, results) -> dict:
    """The SIRs and diagnostics of ``results`` as published (see the module docstring)."""
    diag = getattr(results, "diagnostics", None)
    groups = tuple(results.groups)
    out: dict = {"sir": _sir(p, results), "equipoise": None, "mdrr": [], "follow_up": [], "cif_sum": []}
    if diag is None:
        return _canonical_order(out, groups)
    if diag.equipoise is not None and not p.hidden(("equipoise", "inside"), ("equipoise", "outside")):
        out["equipoise"] = _plain(diag.equipoise)
    for r in diag.mdrr.to_dict("records"):
        hide = _hidden_events(p, r["outcome"], groups)
        out["mdrr"].append({"outcome": r["outcome"], "mdrr": None if hide else _plain(r["mdrr"]),
                            "se": None if hide else _plain(r["se"])})
    for r in diag.follow_up.to_dict("records"):
        key = ("rates_n", r["outcome"], r["group"])
        hide = key not in p.ledger.vars or p.hidden(key)
        out["follow_up"].append({k: (None if hide and k not in ("outcome", "group") else _plain(v))
                                 for k, v in r.items()})
    out["cif_sum"] = [{k: _plain(v) for k, v in r.items()} for r in diag.cif_sum.to_dict("records")]
    return _canonical_order(out, groups)


def _canonical_order(out: dict, groups) -> dict:
    """Rows sorted by outcome name, then group (exposed first): a rerun from the lock, whose mappings
    are sorted by name, writes the same file."""
    rank = {g: i for i, g in enumerate(groups)}
    for key in ("sir", "mdrr", "follow_up", "cif_sum"):
        out[key] = sorted(out[key], key=lambda r: (str(r["outcome"]), rank.get(r.get("group"), -1)))
    return out


def diagnostics_rows(published: dict) -> list[dict]:
    """``tables/diagnostics.csv``: one row per statistic, columns ``diagnostic, outcome, group, statistic,
    value``."""
    rows = []
    if published.get("equipoise") is not None:
        rows.append({"diagnostic": "equipoise", "outcome": "", "group": "", "statistic": "share_in_0.3_0.7",
                     "value": published["equipoise"]})
    for r in published.get("mdrr", []):
        rows += [{"diagnostic": "mdrr", "outcome": r["outcome"], "group": "", "statistic": s, "value": r[s]}
                 for s in ("mdrr", "se")]
    for r in published.get("follow_up", []):
        rows += [{"diagnostic": "follow_up", "outcome": r["outcome"], "group": r["group"], "statistic": s,
                  "value": r[s]} for s in ("median_days", "q25_days", "q75_days", "person_years")]
    for r in published.get("cif_sum", []):
        rows += [{"diagnostic": "cif_sum", "outcome": r["outcome"], "group": r["model"], "statistic": s,
                  "value": r[s]} for s in ("max_sum", "exceeds")]
    return rows
