"""Report figures as deterministic SVG text: CIF curves with numbers at risk, forest plot, attrition flow.

No pyplot state (bare ``Figure``), Agg-free SVG output, ``svg.hashsalt`` fixed and no date in the
metadata: the same results give the same bytes. Text is kept as SVG ``<text>`` (``svg.fonttype
"none"``) so it prints sharply and the disclosure scan can read it; every count drawn carries an element
id starting ``count`` (scanned by :func:`cohortstat.report.suppression.scan_outputs`). The figures draw
already-suppressed inputs: counts arrive as ints or ``"<k"`` strings.
"""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cohortstat.report.safe_text import mpl

__all__ = ["attrition_flow", "cif_plot", "forest_plot", "inline_svg"]

_RC = {
    "svg.hashsalt": "cohortstat",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
COLORS = ("#1f5fa8", "#c2571a")


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return inline_svg(buf.getvalue())


def inline_svg(text: str) -> str:
    """SVG text ready to inline in HTML: no XML prolog / DOCTYPE, no RDF metadata or its namespace URLs."""
    text = text[text.find("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    return re.sub(r'\s+xmlns:(dc|cc|rdf)="[^"]*"', "", text)


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    return f"{int(v):,}"


def cif_plot(cif: pd.DataFrame, at_risk: pd.DataFrame, *, groups, labels: dict, title: str,
             min_cell_count: int = 10) -> str:
    """Cumulative incidence by group (step curves, in years) with numbers at risk under the plot.

    ``cif``: ``group, time (days), n_risk, estimate``; each curve stops at the last time with at least
    ``min_cell_count`` patients at risk (the tail would show single patients). ``at_risk``: ``group,
    year, n_risk`` with small counts already shown as ``"<k"``.
    """
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, 4.2))
        ax = fig.add_axes((0.12, 0.36, 0.84, 0.56))
        years = sorted(at_risk["year"].unique())
        for i, g in enumerate(groups):
            c = cif.loc[cif["group"] == g].sort_values("time")
            c = c.loc[c["n_risk"] >= min_cell_count]
            x = np.concatenate([[0.0], c["time"].to_numpy(float) / 365.25])
            y = np.concatenate([[0.0], c["estimate"].to_numpy(float)]) * 100
            ax.step(x, y, where="post", color=COLORS[i % 2], lw=1.6, label=mpl(labels.get(g, g)),
                    ls="-" if i == 0 else "--")
        ax.set_xlim(0, max(years) if years else 1)
        ax.set_xticks(years)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("Years since start of follow-up")
        ax.set_ylabel("Cumulative incidence (%)")
        ax.set_title(mpl(title), loc="left", fontsize=10)
        ax.legend(frameon=False, loc="upper left")
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        fig.text(0.01, 0.22, "Number at risk", fontsize=8, weight="bold")
        x0, x1 = ax.get_xlim()
        for i, g in enumerate(groups):
            yfig = 0.15 - 0.07 * i
            fig.text(0.01, yfig, mpl(str(labels.get(g, g))[:22]), fontsize=7.5, color=COLORS[i % 2])
            part = at_risk.loc[at_risk["group"] == g].set_index("year")["n_risk"]
            for yr in years:
                xf = 0.12 + 0.84 * (yr - x0) / (x1 - x0)
                fig.text(xf, yfig, _fmt(part.get(yr, 0)), fontsize=7.5, ha="center", gid=f"count-risk-{i}-{yr}")
        return _svg(fig)


def forest_plot(models: pd.DataFrame, *, outcome_labels: dict, model_labels: dict) -> str:
    """Forest plot of the exposure HR per outcome, one marker per model (Cox and Fine-Gray side by side).

    ``models``: ``outcome, model, hr, ci_lower, ci_upper`` for the exposure term.
    """
    order = [m for m in model_labels if m in set(models["model"])]
    outs = list(dict.fromkeys(models["outcome"]))
    markers = ("o", "s", "D", "^", "v", "P")
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, 0.9 + 0.55 * max(len(outs), 1) + 0.1 * len(order)))
        ax = fig.add_axes((0.3, 0.18, 0.66, 0.74))
        step = 0.8 / max(len(order), 1)
        for j, m in enumerate(order):
            d = models.loc[models["model"] == m].set_index("outcome")
            ys, hr, lo, hi = [], [], [], []
            for i, o in enumerate(outs):
                if o in d.index and np.isfinite(d.loc[o, "hr"]):
                    ys.append(len(outs) - 1 - i + 0.4 - step * (j + 0.5))
                    hr.append(d.loc[o, "hr"]), lo.append(d.loc[o, "ci_lower"]), hi.append(d.loc[o, "ci_upper"])
            hr, lo, hi = map(np.asarray, (hr, lo, hi))
            if len(ys):
                ax.errorbar(hr, ys, xerr=[hr - lo, hi - hr], fmt=markers[j % len(markers)], ms=4, capsize=2,
                            lw=1, color=("#1f5fa8", "#c2571a", "#3a7d2c", "#7b3294", "#555555", "#b8860b")[j % 6],
                            label=mpl(model_labels[m]))
        ax.axvline(1.0, color="#444444", lw=0.8)
        ax.set_xscale("log")
        ax.set_yticks(range(len(outs)))
        ax.set_yticklabels([mpl(outcome_labels.get(o, o)) for o in reversed(outs)])
        ax.set_ylim(-0.6, len(outs) - 0.4)
        ax.set_xlabel("Hazard ratio (95% CI), log scale")
        ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
        return _svg(fig)


def attrition_flow(attrition: pd.DataFrame, *, groups, labels: dict) -> str:
    """STROBE-style flow: one column per group, a box per step with the patients remaining and, to the
    side, the patients excluded by that step. Counts arrive already suppressed."""
    n = len(attrition)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.0, 0.9 * n + 0.6))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, n + 0.3)
        ax.axis("off")
        box = {"boxstyle": "round,pad=0.35", "fc": "#f4f6fa", "ec": "#555555", "lw": 0.8}
        exc = {"boxstyle": "round,pad=0.3", "fc": "#ffffff", "ec": "#999999", "lw": 0.6}
        for gi, g in enumerate(groups):
            xc = 0.25 + 0.5 * gi
            ax.text(xc - 0.08, n + 0.05, mpl(labels.get(g, g)), ha="center", weight="bold", fontsize=9)
            for i, row in enumerate(attrition.to_dict("records")):
                y = n - 0.45 - i
                desc = str(row.get("description") or row.get("rule_id"))
                if len(desc) > 38:
                    desc = desc[:36] + "..."
                ax.text(xc - 0.08, y, f"{mpl(desc)}\n ", ha="center", va="center", fontsize=7.5, bbox=box)
                ax.text(xc - 0.08, y - 0.13, f"n = {_fmt(row[f'n_{g}'])}", ha="center", va="center", fontsize=7.5,
                        gid=f"count-flow-{gi}-{i}")
                if i > 0:
                    ax.annotate("", xy=(xc - 0.08, y + 0.28), xytext=(xc - 0.08, y + 0.72),
                                arrowprops={"arrowstyle": "->", "lw": 0.8, "color": "#555555"})
                    e = row.get(f"excluded_{g}")
                    if e is not None and not (isinstance(e, float) and np.isnan(e)):
                        ax.text(xc + 0.17, y + 0.5, f"excluded\n{_fmt(e)}", ha="center", va="center", fontsize=7,
                                bbox=exc, gid=f"count-excl-{gi}-{i}")
        return _svg(fig)
