"""Every published number of a study's results, classified and protected in one pass.

:func:`protect_results` declares the counts of every output (attrition, Table 1, incidence, numbers at
risk, model sizes, notes, balance, preference-score bins, data checks, input row counts) in one
:class:`~cohortstat.report.disclosure.Ledger` with the relations a reader knows between them, solves the
suppression once, and returns the published data (``results.json``) together with what the figures may
draw. Derived statistics follow their counts (:data:`DERIVED_FROM` documents each):

================================  =========================================================================
statistic                         hidden when hidden
================================  =========================================================================
``pct_<g>`` of Table 1            its count or the group's total (``n / pct`` would reveal the total)
``smd`` of a categorical variable any cell of the variable in either group, or a group total
balance ``mean_*`` / ``smd_*``    the Table 1 cells of the covariate (before); the matched counts (after)
``rate``, ``rate_lower/_upper``   the events (with the person-years the rate is ``events / PY``); in the
                                  matched or weighted population, its events or the cohort's
                                  (:mod:`cohortstat.report.published_rates`)
cumulative incidence (figure,     the events of the group; shown curves only step after at least ``k``
``cif_by_year``)                  events (the size of one step times the number at risk is a count)
preference-score bars             the bin count (a partition of the group, with complements)
================================  =========================================================================

Hazard ratios, their CIs and p-values, E-values, person-years, means and SDs of age and Charlson score,
test statistics and coefficients are not counts and are never suppressed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cohortstat.report.disclosure import Ledger
from cohortstat.report.notes import parse_note
from cohortstat.report.published_rates import declare_analysed_rates

__all__ = ["DERIVED_FROM", "Context", "Protected", "coarsen_cif", "declare", "effect_key"]

#: The documentation of which statistic derives from which counts (used by the tests and docs).
DERIVED_FROM = {
    "pct": ("n", "total"),
    "smd": ("every cell of the variable", "totals"),
    "rate": ("events",),
    "rate_lower": ("events",),
    "rate_upper": ("events",),
    "cif": ("events", "n_risk"),
    "mean_exposed_before": ("Table 1 cells",),
    "mean_reference_before": ("Table 1 cells",),
    "smd_before": ("Table 1 cells",),
    "mean_exposed_after": ("matched counts",),
    "mean_reference_after": ("matched counts",),
    "smd_after": ("matched counts",),
    "proportion": ("bin count", "total"),
}

_COST_TOTAL, _COST_MATCHED, _COST_ENTRY, _COST_STEP = 100, 60, 50, 5


class Context:
    """The ledger of one report and the keys of its shared counts (also used by the note templates)."""

    def __init__(self, results, k: int):
        self.results = results
        self.k = int(k)
        self.ledger = Ledger(k)
        self.groups = tuple(results.groups)
        self.total: dict[str, object] = {}  # final cohort size per group
        self.matched: dict[str, object] = {}  # matched cohort size per group
        self.at_risk: dict[tuple, object] = {}  # (outcome, group, year) -> key
        self.curve_at_risk: dict[tuple, object] = {}  # (outcome, group, year) -> key, under the curves
        self.model_keys: dict[tuple, tuple] = {}  # (outcome, model) -> (n key, events key)
        self.group_events: dict[tuple, tuple] = {}  # (analysis, outcome, model) -> (events key, group keys)
        self.analysed_rates: dict[str, dict] = {}  # outcome -> group -> {statistic: key} (matched/weighted rates)

    def own(self, key, value: int, cost: int = 1):
        return self.ledger.count(key, value, cost=cost)

    def same_as(self, key, value: int, own_key):
        """``key`` when its value equals ``value``; else a new count tied to it by a latent difference."""
        if key is not None and self.ledger.value(key) == int(value):
            return key
        new = self.own(own_key, value)
        if key is not None:
            self.ledger.relate({new: 1, key: -1}, "same")
        return new

    # note fields -------------------------------------------------------------------------------------
    def not_at_risk(self, outcome: str, group: str, value: int):
        key = self.own(("not_at_risk", outcome, group), value, cost=2)
        if group in self.total and ("rates_n", outcome, group) in self.ledger.vars:
            self.ledger.total(self.total[group], [("rates_n", outcome, group), key], "outcome")
        return key

    def other_causes(self, outcome: str, model: str, value: int):
        if model.endswith("_ps"):
            return self.own(("other_causes", outcome, model), value)
        key = ("other_causes", outcome, int(value))  # the same number in the notes of every cohort model
        if key in self.ledger.vars:
            return key
        self.own(key, value)
        parts = [("competing", outcome, g) for g in self.groups]
        if all(p in self.ledger.vars for p in parts):
            self.ledger.total(key, parts, "other_causes")
        return key

    def cohort_total(self, group: str, value: int):
        return self.same_as(self.total.get(group), value, ("note_total", group))

    def matched_total(self, group: str, value: int):
        return self.same_as(self.matched.get(group), value, ("note_matched", group))

    def matched_sets(self, value: int, exposed_key):
        return self.same_as(exposed_key, value, ("matched_sets",))

    def ps_rows(self, rows: int, treated: int) -> dict:
        keys = {"rows": self.own(("ps_rows",), rows), "treated": self.own(("ps_treated",), treated)}
        if len(self.total) == 2:
            self.ledger.relate({keys["rows"]: 1, **{self.total[g]: -1 for g in self.groups}}, "ps_rows")
            self.ledger.relate({keys["treated"]: 1, self.total[self.groups[0]]: -1}, "ps_treated")
        return keys


# ---------------------------------------------------------------------------------------- declaring


def _declare_attrition(ctx: Context, att: pd.DataFrame) -> None:
    led = ctx.ledger
    rows = att.reset_index(drop=True)
    builder_last = max((i for i, r in enumerate(rows["rule_id"]) if r != "matching"), default=len(rows) - 1)
    for g in ctx.groups:
        steps, excl = [], [None]
        for i in range(len(rows)):
            if i == builder_last:
                cost = _COST_TOTAL
            elif rows.at[i, "rule_id"] == "matching":
                cost = _COST_MATCHED
            else:
                cost = _COST_ENTRY if i == 0 else _COST_STEP
            steps.append(led.count(("att", i, g), int(rows.at[i, f"n_{g}"]), cost=cost))
            if i:
                excl.append(led.count(("att_excl", i, g), led.value(steps[-2]) - led.value(steps[-1]), cost=4))
        led.chain(steps, f"attrition {g}", excl)
        ctx.total[g] = ("att", builder_last, g)
        if "matching" in set(rows["rule_id"]):
            ctx.matched[g] = ("att", int(np.flatnonzero(rows["rule_id"].to_numpy() == "matching")[-1]), g)
    ratio = getattr(getattr(getattr(getattr(ctx.results, "study", None), "analyses", None), "confounding", None),
                    "ratio", None)
    if len(ctx.matched) == 2 and ratio:
        # 1:k matching: k controls per matched exposed patient (a shortfall is a latent count)
        led.relate({ctx.matched[ctx.groups[1]]: 1, ctx.matched[ctx.groups[0]]: -int(ratio)}, "matching ratio")


def _declare_table_one(ctx: Context, t1: pd.DataFrame | None, sample: str = "t1", totals_of=None) -> dict:
    """Keys of Table 1: ``{(row index, group): key}``; totals are the attrition's final counts.

    ``sample``/``totals_of``: the adjusted Table 1 of a matched study (``"t1_matched"``, the matched
    counts of the attrition) uses its own keys. A weighted Table 1 declares nothing (its ``n`` are the
    unadjusted counts; the report shows only its weighted percentages, hidden where the unadjusted cell is).
    """
    if t1 is None:
        return {"totals": {}}
    led, keys = ctx.ledger, {}
    totals = {}
    totals_of = ctx.total if totals_of is None else totals_of
    for i, r in t1.iterrows():
        if r["kind"] == "n":
            for g in ctx.groups:
                totals[g] = keys[(i, g)] = ctx.same_as(totals_of.get(g), int(r[f"n_{g}"]), (f"{sample}_total", g))
    for var, idx in t1.groupby("variable", sort=False).groups.items():
        rows = t1.loc[idx]
        if rows["kind"].iloc[0] != "categorical":
            continue
        for g in ctx.groups:
            cells = [led.count((sample, var, str(t1.at[i, "level"]), g), int(t1.at[i, f"n_{g}"]), cost=2)
                     for i in idx]
            for i, c in zip(idx, cells):
                keys[(i, g)] = c
            if g in totals:
                led.total(totals[g], cells, f"table1 {var}")
    keys["totals"] = totals
    return keys


def _declare_outcome(ctx: Context, o) -> None:
    led = ctx.ledger
    for r in o.rates.to_dict("records"):
        g = r["group"]
        n = led.count(("rates_n", o.name, g), r["n"], cost=10)
        ev = led.count(("events", o.name, g), r["events"], cost=6)
        comp = led.count(("competing", o.name, g), r["competing_events"], cost=4)
        led.total(n, [ev, comp], "outcome status")
        if g in ctx.total:
            led.total(ctx.total[g], [n], "outcome")  # the gap is the latent 'not at risk' count
        steps = []
        for a in o.at_risk.loc[o.at_risk["group"] == g].sort_values("year").to_dict("records"):
            key = ("at_risk", o.name, g, int(a["year"]))
            if int(a["year"]) == 0 and int(a["n_risk"]) == led.value(n):
                key = n
            steps.append(led.count(key, a["n_risk"], cost=1))
            ctx.at_risk[(o.name, g, int(a["year"]))] = key
        led.chain(steps, f"at risk {o.name} {g}", spans=False)
    for m in dict.fromkeys(o.models["model"]) if len(o.models) else ():
        first = o.models.loc[o.models["model"] == m].iloc[0]
        # models fitted on the same rows print the same numbers: one count each, shown or hidden together
        kind = "ps" if m.endswith("_ps") else "cohort"
        n = ("model_n", o.name, kind, int(first["n"]))
        ev = ("model_events", o.name, kind, int(first["n_events"]))
        ctx.model_keys[(o.name, m)] = (n, ev)
        if n in led.vars and ev in led.vars:
            continue
        led.count(n, first["n"], cost=3)
        led.count(ev, first["n_events"], cost=3)
        if not m.endswith("_ps"):
            led.total(n, [("rates_n", o.name, g) for g in ctx.groups], "model n")
            led.total(ev, [("events", o.name, g) for g in ctx.groups], "model events")
        elif ctx.matched:
            led.relate({**{ctx.matched[g]: 1 for g in ctx.groups}, n: -1}, "ps model n")
    _declare_group_events(ctx, o)
    _declare_effect_events(ctx, o)
    from cohortstat.report.published_curves import declare_curves

    declare_curves(ctx, o)


def _declare_group_events(ctx: Context, o, analysis: str = "main") -> None:
    """Events per group of each model's sample (estimates table): they partition the model's events.

    On the whole outcome sample they are the outcome's events of the group (one count); on a matched
    or weighted sample, or in a sensitivity variant (``analysis``), they are counts of their own, tied
    to the main outcome's events of the group by their (latent) difference, so that neither a small
    count nor a small difference between analyses is shown.
    """
    ev = getattr(o, "model_events", None)
    if ev is None or not len(ev):
        return
    led = ctx.ledger
    for r in ev.to_dict("records"):
        main = analysis == "main"
        if main and (o.name, r["model"]) not in ctx.model_keys:
            continue
        total = ctx.model_keys[(o.name, r["model"])][1] if main else None
        kind = "ps" if r["model"].endswith("_ps") else "cohort"
        keys = []
        for g, col in zip(ctx.groups, ("events_exposed", "events_reference")):
            own = ("model_group_events", analysis, o.name, kind, g, int(r[col]))
            rates = ("events", o.name, g)
            keys.append(own if own in led.vars else ctx.same_as(rates if rates in led.vars else None, r[col], own))
        seen = (total, tuple(keys)) in ctx.group_events.values()
        ctx.group_events[(analysis, o.name, r["model"])] = (total, tuple(keys))
        if total is not None and not seen:
            led.total(total, keys, "model events by group")


def effect_key(row: dict) -> str:
    """The model key of a subgroup or period row of the estimates table (``group_events``)."""
    if row.get("subgroup"):
        return f"subgroup:{row['subgroup']}={row['level']}"
    return f"period:{row['period']}"


def _declare_effect_events(ctx: Context, o, analysis: str = "main") -> None:
    """Events per group of each subgroup level and period: parts of the outcome's events of the group
    (levels partition them; periods are disjoint parts, the rest a latent remainder)."""
    effects = getattr(o, "effects", None)
    if effects is None or not len(effects):
        return
    led = ctx.ledger
    rows = [r for r in effects.to_dict("records") if r["term"] == "exposure"]
    parts: dict[tuple, list] = {}
    for r in rows:
        keys = []
        for g, col in zip(ctx.groups, ("events_exposed", "events_reference")):
            key = led.count(("effect_events", analysis, o.name, effect_key(r), g), int(r[col]), cost=2)
            keys.append(key)
            parts.setdefault((r["subgroup"] or "period", g), []).append(key)
        ctx.group_events[(analysis, o.name, effect_key(r))] = (None, tuple(keys))
    for (part, g), keys in parts.items():
        total = ("events", o.name, g)
        if total not in led.vars:
            continue
        if analysis == "main":
            led.total(total, keys, "effect events")
        else:  # another sample: the parts' sum is a count of its own, its difference from the main one latent
            own = ctx.same_as(total, sum(led.value(k) for k in keys), ("effect_total", analysis, o.name, part, g))
            if own != total:
                led.total(own, keys, "effect events")
            else:
                led.total(total, keys, "effect events")


def _declare_balance(ctx: Context, balance: pd.DataFrame | None) -> dict:
    """Matched counts of binary covariates (mean after x matched size, when it is a whole number)."""
    keys: dict = {}
    if balance is None or not len(balance) or not ctx.matched:
        return keys
    led = ctx.ledger
    for r in balance.to_dict("records"):
        if r.get("kind") != "binary":
            continue
        cells = []
        for g, col in zip(ctx.groups, ("mean_exposed_after", "mean_reference_after")):
            m = led.value(ctx.matched[g])
            c = float(r.get(col, math.nan)) * m
            if not math.isfinite(c) or abs(c - round(c)) > 1e-6:
                cells = []
                break
            yes = led.count(("balance_after", r["covariate"], "yes", g), round(c))
            no = led.count(("balance_after", r["covariate"], "no", g), m - round(c))
            led.total(ctx.matched[g], [yes, no], "balance after")
            cells += [yes, no, ctx.matched[g]]
        if cells:
            keys[r["covariate"]] = cells
    return keys


def _declare_preference(ctx: Context, pref: pd.DataFrame | None) -> None:
    if pref is None or not len(pref) or "n" not in pref:
        return
    led = ctx.ledger
    for (sample, g), part in pref.groupby(["sample", "group"], sort=False):
        cells = [led.count(("preference", sample, g, i), n) for i, n in enumerate(part["n"])]
        total = (ctx.matched if sample == "matched" else ctx.total).get(g)
        if total is not None:
            led.total(total, cells, "preference")


class Protected:
    """The solved ledger of a report and helpers to publish each statistic."""

    def __init__(self, ctx: Context, t1_keys: dict, balance_keys: dict, notes: list, outcome_notes: dict,
                 t1_adjusted_keys: dict | None = None):
        self.ctx, self.ledger = ctx, ctx.ledger
        self.t1_keys, self.balance_keys = t1_keys, balance_keys
        self.t1_adjusted_keys = t1_adjusted_keys or {"totals": {}}
        self.notes, self.outcome_notes = notes, outcome_notes

    def show(self, key):
        return self.ledger.show(key)

    def hidden(self, *keys) -> bool:
        return self.ledger.any_hidden(keys)


def declare(results, k: int, *, provenance: dict | None = None, data_checks: list | None = None) -> Protected:
    """Declare every count of ``results`` (and of the provenance and data checks) and solve."""
    ctx = Context(results, k)
    _declare_attrition(ctx, results.attrition)
    t1_keys = _declare_table_one(ctx, results.table_one)
    t1_adjusted_keys = {"totals": {}}
    adjusted = getattr(results, "table_one_adjusted", None)
    if adjusted is not None and results.confounding_method == "matching" and len(ctx.matched) == 2:
        t1_adjusted_keys = _declare_table_one(ctx, adjusted, "t1_matched", ctx.matched)
    for o in (*results.outcomes, *getattr(results, "controls", ())):
        _declare_outcome(ctx, o)
    for o in results.outcomes:
        declare_analysed_rates(ctx, o)  # the rates of the matched or weighted population
    for name, variant in getattr(results, "variants", ()):
        for o in variant.outcomes:
            _declare_group_events(ctx, o, name)
            _declare_effect_events(ctx, o, name)
    balance_keys = _declare_balance(ctx, results.balance)
    _declare_preference(ctx, results.preference)
    notes = [parse_note(n, ctx) for n in results.notes]
    outcome_notes = {o.name: [parse_note(n, ctx) for n in o.notes] for o in results.outcomes}
    for c in data_checks or []:
        if c.get("count") is not None:
            ctx.own(("data_check", c.get("name"), c.get("table")), c["count"])
    for t, fp in ((provenance or {}).get("data_fingerprint") or {}).items():
        if isinstance(fp, dict) and isinstance(fp.get("rows"), (int, np.integer)):
            ctx.own(("input_rows", t), fp["rows"])
    from cohortstat.report.diagnostics import declare_diagnostics

    declare_diagnostics(ctx, results)  # SIR observed events, equipoise counts
    ctx.ledger.solve()
    return Protected(ctx, t1_keys, balance_keys, notes, outcome_notes, t1_adjusted_keys)


def coarsen_cif(cif: pd.DataFrame, k: int, breaks=()) -> pd.DataFrame:
    """The corners of a cumulative-incidence curve that may be drawn: each step holds at least ``k`` events.

    Rows with fewer than ``k`` at risk are dropped (the tail); consecutive event times are pooled until
    the pool holds ``k`` events, and only the last corner of each pool is kept (its estimate is the
    exact Aalen-Johansen value there; the curve is flat in between). Events left after the last full
    pool join it (its corner moves to their last time). Fewer than ``k`` events: no corner at all.

    ``breaks`` (times, e.g. the published fixed times): no pool spans a break, and the events left
    before a break join the last pool before it, so that the drawn curve at a break is its exact value
    there. The caller chooses breaks with no or at least ``k`` events since the previous one
    (:func:`cohortstat.report.published_curves.published_times`).
    """
    c = cif.sort_values("time")
    c = c.loc[c["n_risk"] >= k]
    keep, pooled, ends = [], 0, sorted(float(b) for b in breaks)
    segment = []  # rows since the last break passed, and whether a pool closed among them
    for i, t, d in zip(c.index, c["time"].to_numpy(float), c["n_event"].to_numpy()):
        while ends and t > ends[0]:
            ends.pop(0)
            pooled = _close_segment(keep, segment, pooled)
        pooled += int(d)
        segment.append((i, pooled >= k))
        if pooled >= k:
            keep.append(i)
            pooled = 0
    _close_segment(keep, segment, pooled)
    cols = [col for col in ("time", "n_risk", "estimate", "ci_lower", "ci_upper") if col in c.columns]
    return c.loc[keep, cols].reset_index(drop=True)


def _close_segment(keep: list, segment: list, pooled: int) -> int:
    """At a break (or the end): events left over join the segment's last pool (its corner moves to their
    last time); with no pool in the segment they carry on to the next one. Returns the events carried."""
    if pooled and any(closed for _, closed in segment):
        keep[-1] = segment[-1][0]
        pooled = 0
    if not pooled:
        segment.clear()
    return pooled
