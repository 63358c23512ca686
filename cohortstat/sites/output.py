"""The pooled report folder: tidy tables, a forest plot by site per outcome, one small HTML page.

``write_pool(result, out)`` writes, atomically (a temporary folder renamed at the end)::

    OUT/pool.json                 every number, with the sites, dropped sites and package hashes
    OUT/tables/estimates.csv      tidy estimates (analysis = pooled_federated | pooled_fixed |
                                  pooled_random | site:NAME)
    OUT/tables/attrition.csv      pooled attrition
    OUT/tables/table1.csv         pooled Table 1
    OUT/figures/forest_<outcome>.svg
    OUT/report.html
"""

from __future__ import annotations

import html
import io
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cohortstat.errors import ReportError

_RC = {"svg.hashsalt": "cohortstat", "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 8,
       "axes.spines.top": False, "axes.spines.right": False}
POOLED_LABELS = {"pooled_federated": "Pooled, federated (exact)", "pooled_fixed": "Pooled, fixed effect",
                 "pooled_random": "Pooled, random effects (HKSJ)"}
FOREST_MODEL = [("cox", "adjusted"), ("fine_gray", "adjusted"), ("cox", "crude"), ("fine_gray", "crude")]
TICKS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def forest_by_site(est: pd.DataFrame, outcome: str) -> str | None:
    """SVG forest plot of the exposure HR of one outcome: each site, then the pooled estimates."""
    d = est.loc[(est["outcome"] == outcome) & (est["term"] == "exposure")]
    panels = [(m, a) for m, a in FOREST_MODEL if ((d["model"] == m) & (d["adjustment"] == a)).any()][:2]
    if not panels:
        return None
    with matplotlib.rc_context(_RC):
        n = max(len(d.loc[(d["model"] == m) & (d["adjustment"] == a)]) for m, a in panels)
        fig = Figure(figsize=(6.8, 1.2 + 0.28 * n))
        for i, (m, a) in enumerate(panels):
            rows = d.loc[(d["model"] == m) & (d["adjustment"] == a)]
            rows = pd.concat([rows.loc[rows["analysis"].str.startswith("site:")],
                              rows.loc[~rows["analysis"].str.startswith("site:")]])
            ax = fig.add_axes((0.3 + 0.36 * i, 0.22, 0.3, 0.68))
            y = np.arange(len(rows))[::-1]
            hr, lo, hi = (rows[c].to_numpy(float) for c in ("estimate", "ci_lower", "ci_upper"))
            pooled = ~rows["analysis"].str.startswith("site:").to_numpy()
            for mask, mk, col in ((~pooled, "s", "#1f5fa8"), (pooled, "D", "#c2571a")):
                ok = mask & np.isfinite(hr) & np.isfinite(lo) & np.isfinite(hi)
                ax.errorbar(hr[ok], y[ok], xerr=[hr[ok] - lo[ok], hi[ok] - hr[ok]], fmt=mk, ms=3.5, capsize=2,
                            lw=1, color=col)
            ax.axvline(1.0, color="#444444", lw=0.8)
            ax.set_xscale("log")
            fin = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in (lo, hi)] + [np.array([1.0])])
            lo_x, hi_x = max(fin.min() / 1.2, 1 / 16), min(fin.max() * 1.2, 16)
            ax.set_xlim(lo_x, hi_x)
            ax.set_xticks([t for t in TICKS if lo_x <= t <= hi_x])
            ax.set_xticklabels([f"{t:g}" for t in TICKS if lo_x <= t <= hi_x])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_yticks(y)
            labels = [POOLED_LABELS.get(s, s.removeprefix("site:")) for s in rows["analysis"]]
            ax.set_yticklabels(labels if i == 0 else [""] * len(labels))
            ax.set_title(f"{'Cox' if m == 'cox' else 'Fine-Gray'}, {a}", fontsize=8, loc="left")
            ax.set_xlabel("Hazard ratio (95% CI)")
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.find("<svg"):]


def _fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e5 else f"{v:,.0f}"
    return str(v)


def _table(df: pd.DataFrame, cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r[c]))}</td>" for c in cols) + "</tr>"
                   for r in df.to_dict("records"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(result, svgs: dict[str, str]) -> str:
    """One self-contained page: sites, checks, estimates, heterogeneity, forest plots, attrition, Table 1."""
    e = html.escape
    est = result.estimates
    key = est.loc[est["term"] == "exposure"]
    parts = [f"<h1>{e(result.title)} - pooled over {len(result.sites)} sites</h1>",
             f"<p>Sites: {e(', '.join(result.sites))}. Spec hash <code>{e(result.spec_hash)}</code>. "
             f"Minimum cell count {result.min_cell_count}.</p>"]
    if result.dropped:
        parts.append(f"<p><strong>Left out at the user's request:</strong> {e(', '.join(result.dropped))}.</p>")
    for note in result.notes:
        parts.append(f"<p>{e(note)}</p>")
    parts.append("<h2>Exposure hazard ratios</h2><p>pooled_federated: site-stratified fit on the union of the "
                 "sites' rows, computed without moving a row; pooled_fixed / pooled_random: meta-analysis of the "
                 "sites' estimates (inverse variance; REML tau&sup2; with the Hartung-Knapp-Sidik-Jonkman "
                 "interval).</p>")
    parts.append(_table(key, ["outcome", "model", "adjustment", "analysis", "estimate", "ci_lower", "ci_upper", "p",
                              "k_sites", "tau2", "I2", "Q_p"]))
    for outcome, svg in svgs.items():
        parts.append(f"<h3>Forest plot by site: {e(outcome)}</h3>{svg}")
    parts.append("<h2>Attrition (sum over sites)</h2>")
    parts.append(_table(result.attrition, list(result.attrition.columns)))
    parts.append("<h2>Table 1 (union of the sites)</h2>")
    parts.append(_table(result.table_one, list(result.table_one.columns)))
    parts.append("<h2>Packages</h2>" + _table(pd.DataFrame(
        [{"site": s, "package_hash": h} for s, h in result.package_hashes.items()]), ["site", "package_hash"]))
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;font-size:14px}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;"
             "font-size:12px}th{background:#f0f2f6}")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(result.title)} (pooled)</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")


def _plain(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return _plain(v.item())
    return v


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: _plain(v) for k, v in r.items()} for r in df.astype(object).where(df.notna(), None).to_dict("records")]


def write_pool(result, out, force: bool = False) -> Path:
    """Write the pooled report folder (see the module docstring)."""
    out = Path(out)
    if out.exists() and not force:
        raise ReportError(f"{out} exists; choose another --out or pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        (tmp / "tables").mkdir()
        (tmp / "figures").mkdir()
        result.estimates.to_csv(tmp / "tables" / "estimates.csv", index=False)
        result.attrition.to_csv(tmp / "tables" / "attrition.csv", index=False)
        result.table_one.to_csv(tmp / "tables" / "table1.csv", index=False)
        svgs = {}
        for outcome in dict.fromkeys(result.estimates["outcome"]):
            svg = forest_by_site(result.estimates, outcome)
            if svg:
                svgs[outcome] = svg
                (tmp / "figures" / f"forest_{outcome}.svg").write_text(svg, encoding="utf-8")
        doc = {"title": result.title, "spec_hash": result.spec_hash, "sites": list(result.sites),
               "dropped_sites": list(result.dropped), "min_cell_count": result.min_cell_count,
               "groups": list(result.groups), "package_hashes": result.package_hashes, "notes": list(result.notes),
               "estimates": _records(result.estimates), "attrition": _records(result.attrition),
               "table_one": _records(result.table_one)}
        (tmp / "pool.json").write_text(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n",
                                       encoding="utf-8")
        (tmp / "report.html").write_text(render_html(result, svgs), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
