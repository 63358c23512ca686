"""The published form of the incidence rates of the analysed population
(:class:`cohortstat.analysis.analysed_rates.AnalysedRates`): ``results.json`` ``outcomes.<o>.analysed_rates``,
``tables/incidence_analysed.csv`` and the analysed-population rows of Table 2.

Disclosure (:mod:`cohortstat.report.protect`):

- matched population: persons, events and competing deaths are counts of the ledger. Persons are the
  count of the numbers at risk at year 0 under the matched curves (one key: shown or hidden together),
  part of the matched group size (the difference, persons of the matched sets not at risk, latent);
  events are the per-group events of the propensity-score models fitted on the same rows when there are
  some (one key); each count is tied to the cohort's count of the group by a latent difference (the
  persons or events outside the matched sets), and events + deaths to the persons (censored latent),
  each relation declared when its difference could be small (:func:`_tie`). The rate and its limits are
  hidden with the events;
- weighted population: weighted events and person-years are sums of weights, not counts, and show no
  count (the persons are those of the cohort). A group whose persons all share one weight (the exposed
  under ATT weights) has a count in disguise (weighted events / weight): it is a count of the ledger,
  tied to the cohort's events of the group. The weighted events, rate and limits of a group are hidden
  when its (cohort, or disguised) event count is, as the weighted curves are.
"""

from __future__ import annotations

import math

__all__ = ["analysed_rates_data", "analysed_rates_rows", "declare_analysed_rates"]

_PS_MODELS = ("cox_ps", "fg_ps")
_MATCHED = ("n", "events", "competing_events", "person_years", "rate", "rate_lower", "rate_upper")
_WEIGHTED = ("weighted_events", "weighted_person_years", "rate", "rate_lower", "rate_upper")


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _ps_events_key(ctx, o, i: int, value: int):
    """The key of the events of group ``i`` in a propensity-score model's sample, when its value is ``value``."""
    for m in _PS_MODELS:
        keys = ctx.group_events.get(("main", o.name, m))
        if keys and ctx.ledger.value(keys[1][i]) == int(value):
            return keys[1][i]
    return None


def _tie(led, terms: dict, name: str) -> None:
    """``led.relate(terms)`` unless its gap is a count of at least ``k``.

    The gap of a relation that does not balance becomes a latent count found in that relation only: the
    relation then tells a reader nothing but the gap (any other count it would help to solve needs the
    gap eliminated, which only this relation can do), and sums of its unknowns include the gap. A gap of
    ``k`` or more can neither be revealed nor reveal: the relation is left out, which keeps the ledger's
    components (and its solving time) as small as before. A gap of 0 is a count of its own that a reader
    does not know to be 0 (0 is never small): declared without it, the relation would state an equality
    no reader can know and force needless complementary suppression, so it is left out too. Only a small
    gap (1 to ``k - 1``) is declared.
    """
    gap = -sum(c * led.value(key) for key, c in terms.items())
    if 0.5 <= abs(gap) < led.k - 0.5:
        led.relate(terms, name)


def _same(ctx, key, value: int, own_key, cost: int):
    """``key`` when it holds ``value``, else ``own_key`` tied to it by their (latent) difference."""
    led = ctx.ledger
    if key is not None and key in led.vars and led.value(key) == int(value):
        return led.count(key, value, cost=cost)
    led.count(own_key, value, cost=cost)
    if key is not None and key in led.vars:
        _tie(led, {own_key: 1, key: -1}, "same")
    return own_key


def _declare_matched(ctx, o, table) -> dict:
    led = ctx.ledger
    keys, n_keys = {}, []
    for i, r in enumerate(table.to_dict("records")):
        g = r["group"]
        curve = ctx.curve_at_risk.get((o.name, g, 0))  # persons at risk at year 0 under the matched curves
        n = _same(ctx, curve, r["n"], ("analysed_n", o.name, g), cost=10)
        if n != curve and g in ctx.matched:
            _tie(led, {ctx.matched[g]: 1, n: -1}, "matched outcome n")  # the gap: not at risk
        _tie(led, {("rates_n", o.name, g): 1, n: -1}, "matched outcome n")  # at risk outside the sets
        # the events of the PS models' sample by group (estimates table), else tied to the cohort's events
        ev = _same(ctx, _ps_events_key(ctx, o, i, r["events"]) or ("events", o.name, g), r["events"],
                   ("analysed_events", o.name, g), cost=6)
        comp = _same(ctx, ("competing", o.name, g), r["competing_events"], ("analysed_competing", o.name, g), cost=4)
        _tie(led, {n: 1, ev: -1, comp: -1}, "matched outcome status")  # the gap: censored
        keys[g] = {"n": n, "events": ev, "competing_events": comp}
        n_keys.append(n)
    model = ctx.model_keys.get((o.name, "cox_ps")) or ctx.model_keys.get((o.name, "fg_ps"))
    if model is not None and len(n_keys) == 2:
        _tie(led, {model[0]: 1, n_keys[0]: -1, n_keys[1]: -1}, "matched outcome n")
    return keys


def _declare_weighted(ctx, o, table) -> dict:
    keys = {}
    for r in table.to_dict("records"):
        g = r["group"]
        key = ("events", o.name, g)
        if math.isfinite(float(r["constant_weight"])):  # weighted events / the weight is a count
            key = _same(ctx, key, r["events"], ("weighted_count_events", o.name, g), cost=6)
        keys[g] = {"events": key}
    return keys


def declare_analysed_rates(ctx, o) -> None:
    """Declare the counts of ``o.analysed_rates`` in the report's ledger (``ctx.analysed_rates[o.name]``)."""
    ar = getattr(o, "analysed_rates", None)
    if ar is None:
        return
    declare = _declare_matched if ar.population == "matched" else _declare_weighted
    ctx.analysed_rates[o.name] = declare(ctx, o, ar.table)


def analysed_rates_rows(p, o) -> list[dict]:
    """The rows of ``o.analysed_rates`` as published: counts through the ledger, derived values hidden with them."""
    ar = o.analysed_rates
    keys = p.ctx.analysed_rates[o.name]
    rows = []
    for r in ar.table.to_dict("records"):
        g = r["group"]
        k = keys[g]
        if ar.population == "matched":
            row = {"group": g, **{c: _num(r[c]) for c in _MATCHED}}
            for c in ("n", "events", "competing_events"):
                row[c] = p.show(k[c])
        else:
            row = {"group": g, **{c: _num(r[c]) for c in _WEIGHTED}}
        if p.hidden(k["events"]):
            row.update(rate=None, rate_lower=None, rate_upper=None)
            if ar.population == "weighted":
                row["weighted_events"] = None
        rows.append(row)
    return rows


def analysed_rates_data(p, o) -> dict | None:
    """``results.json`` ``outcomes.<o>.analysed_rates``: population, its label, the interval, the rows."""
    ar = getattr(o, "analysed_rates", None)
    if ar is None:
        return None
    return {"population": ar.population, "estimand": ar.estimand, "label": ar.label, "interval": ar.interval,
            "rows": analysed_rates_rows(p, o)}
