"""The published data of a report (``results.json``, the tables and what the figures draw), read from the
solved ledger of :mod:`cohortstat.report.protect`: no number reaches an output without passing here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cohortstat.report.labels import human_text
from cohortstat.report.protect import Protected, coarsen_cif, declare
from cohortstat.report.published_curves import cohort_breaks, fixed_times_rows
from cohortstat.report.published_rates import analysed_rates_data
from cohortstat.report.safe_text import clean_tree

__all__ = ["public_fingerprint", "publish_data", "shown_cif", "shown_preference"]

DAYS_PER_YEAR = 365.25
_BALANCE_T1 = {"female": "Sex", "calendar_year": "Calendar year of index"}


def _plain(v):
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def _records(df: pd.DataFrame | None) -> list[dict]:
    if df is None:
        return []
    return [{str(k): _plain(v) for k, v in row.items()} for row in df.to_dict("records")]


def _attrition(p: Protected, att: pd.DataFrame, groups) -> list[dict]:
    out = []
    for i, r in enumerate(att.reset_index(drop=True).to_dict("records")):
        row = {"step": _plain(r.get("step", i)), "rule_id": r.get("rule_id"), "description": r.get("description")}
        for g in groups:
            row[f"n_{g}"] = p.show(("att", i, g))
        for g in groups:
            row[f"excluded_{g}"] = None if i == 0 else p.show(("att_excl", i, g))
        out.append(row)
    return out


def _table_one(p: Protected, t1: pd.DataFrame, groups, keys: dict | None = None) -> list[dict]:
    keys = p.t1_keys if keys is None else keys
    totals = keys["totals"]
    smd_hidden = {}
    for var, idx in t1.groupby("variable", sort=False).groups.items():
        cells = [keys[(i, g)] for i in idx for g in groups if (i, g) in keys]
        smd_hidden[var] = t1.loc[idx, "kind"].iloc[0] == "categorical" and p.hidden(*cells, *totals.values())
    out = []
    for i, r in t1.iterrows():
        row = {c: _plain(r[c]) for c in t1.columns}
        for g in groups:
            if (i, g) in keys:
                row[f"n_{g}"] = p.show(keys[(i, g)])
                if r["kind"] == "categorical" and p.hidden(keys[(i, g)], totals.get(g)):
                    row[f"pct_{g}"] = None
        if smd_hidden[r["variable"]]:
            row["smd"] = None
        out.append(row)
    return out


def _table_one_adjusted(p: Protected, results, groups) -> list[dict]:
    """The adjusted Table 1 as published: matched counts through their own ledger keys; a weighted table
    shows no count (its persons are those of Table 1) and hides what the unadjusted table hides."""
    adj = getattr(results, "table_one_adjusted", None)
    if adj is None:
        return []
    if p.t1_adjusted_keys["totals"]:
        return _table_one(p, adj, groups, p.t1_adjusted_keys)
    before_rows = _table_one(p, results.table_one, groups)
    shown = {(r["variable"], r["level"]): r for r in before_rows}
    smd_hidden = {r["variable"] for r in before_rows if r["kind"] == "categorical" and r["smd"] is None
                  and before_rows.index(r) == next(i for i, b in enumerate(before_rows)
                                                   if b["variable"] == r["variable"])}
    out = []
    for r in _records(adj):
        before = shown.get((r["variable"], r["level"]), {})
        for g in groups:
            if r["kind"] != "n":
                r[f"n_{g}"] = None
            else:  # the patients of the cohort: the counts of Table 1, as published there
                r[f"n_{g}"] = shown.get((r["variable"], r["level"]), {}).get(f"n_{g}")
            if r["kind"] == "categorical" and before.get(f"pct_{g}") is None:
                r[f"pct_{g}"] = None
        if r["variable"] in smd_hidden:
            r["smd"] = None
        out.append(r)
    return out


def _t1_variable(study, covariate: str) -> str | None:
    if covariate in _BALANCE_T1:
        return _BALANCE_T1[covariate]
    if covariate in {f.name for f in study.covariates.flags}:
        return f"Flag: {covariate.replace('_', ' ')}"
    return None


def _balance(p: Protected, results) -> list[dict]:
    if results.balance is None:
        return []
    t1 = results.table_one
    out = []
    for r in _records(results.balance):
        var = _t1_variable(results.study, r["covariate"])
        if var is not None:
            idx = t1.index[t1["variable"] == var]
            cells = [p.t1_keys[(i, g)] for i in idx for g in results.groups if (i, g) in p.t1_keys]
            if p.hidden(*cells, *p.t1_keys["totals"].values()):
                r.update(mean_exposed_before=None, mean_reference_before=None, smd_before=None)
        after = p.balance_keys.get(r["covariate"])
        if after and p.hidden(*after):
            r.update(mean_exposed_after=None, mean_reference_after=None, smd_after=None)
        out.append(r)
    return out


def shown_cif(p: Protected, o, groups) -> pd.DataFrame:
    """The corners of the cumulative-incidence curves that may be drawn (none for a hidden group)."""
    parts = []
    for g in groups:
        if p.hidden(("events", o.name, g)):
            continue
        c = o.cif.loc[o.cif["group"] == g]
        if len(c):
            corners = coarsen_cif(c, p.ledger.k, breaks=cohort_breaks(p, o, g))
            corners.insert(0, "group", g)
            parts.append(corners)
    if not parts:
        return pd.DataFrame(columns=["group", "time", "n_risk", "estimate"])
    return pd.concat(parts, ignore_index=True)


def _cif_by_year(p: Protected, o, groups, corners: pd.DataFrame) -> list[dict]:
    out = []
    for g in groups:
        c = corners.loc[corners["group"] == g]
        hidden = p.hidden(("events", o.name, g))
        for y in sorted(int(v) for v in o.at_risk["year"].unique()):
            at = o.at_risk.loc[(o.at_risk["group"] == g) & (o.at_risk["year"] == y), "n_risk"]
            if hidden or (y > 0 and (not len(at) or int(at.iloc[0]) < p.ledger.k)):
                est = None
            else:
                before = c.loc[c["time"] <= y * DAYS_PER_YEAR, "estimate"]
                est = float(before.iloc[-1]) if len(before) else 0.0
            out.append({"group": g, "year": y, "estimate": est})
    return out


def _outcome(p: Protected, o, groups) -> dict:
    rates = []
    for r in _records(o.rates):
        g = r["group"]
        r["n"] = p.show(("rates_n", o.name, g))
        r["events"] = p.show(("events", o.name, g))
        r["competing_events"] = p.show(("competing", o.name, g))
        if p.hidden(("events", o.name, g)):
            r.update(rate=None, rate_lower=None, rate_upper=None)
        rates.append(r)
    models = []
    for r in _records(o.models):
        n_key, ev_key = p.ctx.model_keys[(o.name, r["model"])]
        r["n"], r["n_events"] = p.show(n_key), p.show(ev_key)
        models.append(r)
    at_risk = [{"group": a["group"], "year": int(a["year"]),
                "n_risk": p.show(p.ctx.at_risk[(o.name, a["group"], int(a["year"]))])}
               for a in o.at_risk.to_dict("records")]
    corners = shown_cif(p, o, groups)
    analysed = analysed_rates_data(p, o)  # matched or weighted population (adjusted studies only)
    return {
        "label": o.label,
        "rates": rates,
        "gray": {k: _plain(v) for k, v in o.gray.items()},
        "models": models,
        "ph": _records(o.ph),
        "ph_violated": bool(o.ph_violated),
        "at_risk": at_risk,
        "cif_by_year": _cif_by_year(p, o, groups, corners),
        "cif_fixed_times": fixed_times_rows(p, o, groups, p.ctx.results.labels) if o.curves is not None else [],
        "notes": [human_text(n.render(p.ledger)) for n in p.outcome_notes[o.name]],
        **({"analysed_rates": analysed} if analysed else {}),
    }


def shown_preference(p: Protected, pref: pd.DataFrame) -> pd.DataFrame:
    """Preference-score bins as drawn: a hidden bin (or every bin of a hidden group) is a gap."""
    shown = pref.copy()
    prop = shown["proportion"].astype(float).to_numpy().copy()
    pos = {}
    for (sample, g), part in shown.groupby(["sample", "group"], sort=False):
        total = (p.ctx.matched if sample == "matched" else p.ctx.total).get(g)
        for b, idx in enumerate(part.index):
            pos[idx] = p.hidden(("preference", sample, g, b), total)
    for j, idx in enumerate(shown.index):
        if pos.get(idx, False):
            prop[j] = np.nan
    shown["proportion"] = prop
    return shown.drop(columns=[c for c in ("n",) if c in shown.columns])


def _provenance(p: Protected, provenance: dict) -> dict:
    out = dict(provenance)
    fps = provenance.get("data_fingerprint")
    if isinstance(fps, dict):
        out["data_fingerprint"] = {
            t: ({**fp, "rows": p.show(("input_rows", t))} if ("input_rows", t) in p.ledger.vars else fp)
            for t, fp in fps.items()
        }
    return out


def public_fingerprint(fingerprint: dict, min_cell_count: int) -> dict:
    """A data fingerprint fit to publish (``study.lock.json``): a table of 1..k-1 rows shows ``"<k"``.

    The content hash still identifies the data exactly, so a rerun compares the public forms of both
    fingerprints.
    """
    k = int(min_cell_count)
    out = {}
    for t, fp in fingerprint.items():
        rows = fp.get("rows") if isinstance(fp, dict) else None
        small = isinstance(rows, (int, np.integer)) and 0 < int(rows) < k
        out[t] = {**fp, "rows": f"<{k}"} if small else fp
    return out


def publish_data(results, min_cell_count: int = 10, *, provenance: dict | None = None,
                 data_checks: list | None = None) -> tuple[dict, Protected]:
    """Every number of the report as published, and the solved ledger (for the figures)."""
    k = int(min_cell_count)
    p = declare(results, k, provenance=provenance, data_checks=data_checks)
    groups = tuple(results.groups)
    data: dict = {
        "title": results.study.title,
        "min_cell_count": k,
        "groups": list(groups),
        "labels": dict(results.labels),
        "engine": results.engine,
        "confounding_method": results.confounding_method,
        "attrition": _attrition(p, results.attrition, groups),
        "table_one": _table_one(p, results.table_one, groups),
        "table_one_adjusted": _table_one_adjusted(p, results, groups),
        "balance": _balance(p, results),
        "ps_coef": _records(results.ps_coef),
        # sorted: the order of notes follows the order of outcomes in the spec, which a lock may not keep
        "notes": sorted(human_text(n.render(p.ledger)) for n in p.notes),
        "outcomes": {o.name: _outcome(p, o, groups) for o in results.outcomes},
    }
    if provenance:
        data["provenance"] = _provenance(p, provenance)
    if data_checks is not None:
        checks = []
        for c in data_checks:
            c = {kk: v for kk, v in dict(c).items() if kk != "examples"}  # example ids identify patients
            if c.get("count") is not None:
                c["count"] = p.show(("data_check", c.get("name"), c.get("table")))
            checks.append(c)
        data["data_checks"] = checks
    return clean_tree(data), p
