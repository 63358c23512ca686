"""Pooled attrition and Table 1 from the sites' published (already suppressed) tables.

A count is the sum over sites. When a site shows a cell as ``<k`` (1 to k - 1 persons), the pooled
cell is the range ``lo-hi`` of the possible sums (each such cell 1 to k - 1); when a site shows ``*``
(secondary suppression, any value), the pooled cell is ``>=lo`` (attrition: the range that the
site's other published counts allow). Both are computed from published numbers only, so they reveal
nothing a reader of the site packages could not compute.

Continuous rows: pooled mean ``sum n_i m_i / N`` and standard deviation
``sqrt((sum (n_i - 1) s_i^2 + sum n_i (m_i - m)^2) / (N - 1))`` (the exact mean and SD of the union),
given only when every site's group size is published; the standardised mean difference
``(m_1 - m_2) / sqrt((s_1^2 + s_2^2) / 2)`` is recomputed from them. Percentages are recomputed from
pooled counts when both are exact; otherwise left empty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd


def pooled_count(values: Sequence, k: int):
    """Sum of site cells: an int, ``"lo-hi"`` with ``<k`` cells, ``">=lo"`` with ``*`` cells, None if none."""
    known, small, hidden, seen = 0, 0, 0, False
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        seen = True
        if isinstance(v, str):
            if v.startswith("<"):
                small += 1
            else:
                hidden += 1
        else:
            known += int(v)
    if not seen:
        return None
    if hidden:
        return f">={known + small}"
    if small:
        return f"{known + small}-{known + small * (k - 1)}"
    return known


def _interval(v, k: int) -> tuple[float, float] | None:
    """The values a published cell allows: exact, ``<k`` (1 to k-1), ``*`` (0 to infinity), None (no cell)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        return (1.0, k - 1.0) if v.startswith("<") else (0.0, math.inf)
    return float(v), float(v)


def _site_attrition_intervals(rows: list[dict], g: str, k: int) -> dict[str, tuple]:
    """Per step: intervals of remaining and excluded persons of group ``g`` at one site, narrowed with
    ``remaining = previous remaining - excluded`` (published numbers only)."""
    out: dict[str, tuple] = {}
    prev = None
    for r in rows:
        n, ex = _interval(r.get(f"n_{g}"), k), _interval(r.get(f"excluded_{g}"), k)
        if prev is not None and n is not None and ex is not None:
            n = (max(n[0], prev[0] - ex[1]), min(n[1], prev[1] - ex[0]))
            ex = (max(ex[0], prev[0] - n[1]), min(ex[1], prev[1] - n[0]))
        out[r["rule_id"]] = (n, ex)
        prev = n
    return out


def _format_interval(lo: float, hi: float):
    if lo == hi:
        return int(lo)
    return f">={int(lo)}" if math.isinf(hi) else f"{int(lo)}-{int(hi)}"


def pool_attrition(site_rows: Sequence[list[dict]], groups: Sequence[str], k: int) -> pd.DataFrame:
    """Attrition of the union: each step's counts added over sites (steps matched by ``rule_id``).

    A site's suppressed cell enters as the interval its published numbers allow (narrowed by
    remaining = previous - excluded), and the pooled cell is the sum of the intervals.
    """
    order: list[str] = []
    desc: dict[str, str] = {}
    for rows in site_rows:
        for r in rows:
            if r["rule_id"] not in desc:
                order.append(r["rule_id"])
                desc[r["rule_id"]] = r.get("description", "")
    per_site = {g: [_site_attrition_intervals(rows, g, k) for rows in site_rows] for g in groups}
    out = []
    for step, rule in enumerate(order):
        row = {"step": step, "rule_id": rule, "description": desc[rule],
               "sites": sum(rule in s for s in per_site[groups[0]])}
        for g in groups:
            for j, col in enumerate((f"n_{g}", f"excluded_{g}")):
                cells = [s[rule][j] for s in per_site[g] if rule in s and s[rule][j] is not None]
                row[col] = (_format_interval(sum(c[0] for c in cells), sum(c[1] for c in cells))
                            if cells else None)
        out.append(row)
    return pd.DataFrame(out)


def _exact(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _continuous(rows: list[dict], sizes: list[dict], g: str):
    ns = [s.get(f"n_{g}") for s in sizes]
    ms = [r.get(f"mean_{g}") for r in rows]
    sds = [r.get(f"sd_{g}") for r in rows]
    if not all(_exact(v) for v in ns + ms + sds):
        return None, None
    N = sum(ns)
    m = sum(n * x for n, x in zip(ns, ms)) / N
    ss = sum((n - 1) * s * s for n, s in zip(ns, sds)) + sum(n * (x - m) ** 2 for n, x in zip(ns, ms))
    return m, math.sqrt(ss / (N - 1)) if N > 1 else math.nan


def pool_table_one(site_rows: Sequence[list[dict]], groups: Sequence[str], k: int) -> pd.DataFrame:
    """Table 1 of the union from the sites' Table 1 rows (matched on variable, kind and level)."""
    key = ("variable", "kind", "level")
    sizes = [next((r for r in rows if r["kind"] == "n"), {}) for rows in site_rows]
    order: list[tuple] = []
    by_key: dict[tuple, list] = {}
    for i, rows in enumerate(site_rows):
        for r in rows:
            kk = tuple(r.get(c) for c in key)
            if kk not in by_key:
                order.append(kk)
            by_key.setdefault(kk, [None] * len(site_rows))[i] = r
    totals = {g: pooled_count([s.get(f"n_{g}") for s in sizes], k) for g in groups}
    out = []
    for kk in order:
        present = by_key[kk]
        rows = [r if r is not None else {} for r in present]
        row = dict(zip(key, kk))
        first = next(r for r in present if r is not None)
        row.update({c: first[c] for c in ("section", "label", "show") if c in first})  # how Table 1 shows it
        if kk[1] == "continuous":
            stats_ = {g: _continuous(rows, sizes, g) for g in groups}
            for g in groups:
                row[f"mean_{g}"], row[f"sd_{g}"] = stats_[g]
            a, b = (stats_[g] for g in groups)
            row["smd"] = ((a[0] - b[0]) / math.sqrt((a[1] ** 2 + b[1] ** 2) / 2)
                          if None not in (a[0], b[0]) and (a[1] or b[1]) else None)
        else:
            for g in groups:
                n = pooled_count([r.get(f"n_{g}") for r in rows], k)
                row[f"n_{g}"] = n
                if kk[1] != "n" and _exact(n) and _exact(totals[g]) and totals[g]:
                    row[f"pct_{g}"] = 100.0 * n / totals[g]
        out.append(row)
    cols = [*key, *[f"{s}_{g}" for g in groups for s in ("n", "pct", "mean", "sd")], "smd"]
    extra = [c for c in ("section", "label", "show") if any(c in r for r in out)]
    return pd.DataFrame(out).reindex(columns=[*extra, *cols])
