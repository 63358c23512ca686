"""Forest plots: the exposure hazard ratio of every outcome and model (in the results table's order, with
HR (95% CI) and events as text columns beside the bars), and a grid across sensitivity analyses,
subgroups and periods (one panel per outcome).

Tick labels are plain numbers (0.5, 1, 2) on a log axis; labels are wrapped, never clipped: the label
and text columns are measured and the plot takes the remaining width.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from cohortstat.report.safe_text import mpl
from cohortstat.report.style import COLORS, FONT, GREY, WIDTH, new_figure, style, text_width, wrap

__all__ = ["forest_figure", "grid_forest_figure", "hr_ticks"]

_ROW = 0.2  # inches per row
_MARKERS = ("o", "s", "D", "^", "v", "P")
_CANDIDATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 4, 5, 10, 20, 50, 100)


def hr_ticks(lo: float, hi: float) -> tuple[float, list[float], float]:
    """Axis limits and plain ticks for hazard ratios spanning ``lo..hi`` (1 always included)."""
    vals = [v for v in (lo, hi) if np.isfinite(v) and v > 0]
    lo, hi = min(vals + [1.0]), max(vals + [1.0])
    left, right = lo / 1.15, hi * 1.15
    ticks = [t for t in _CANDIDATES if left <= t <= right]
    if len(ticks) > 6:  # keep 1 and thin the others on a log grid
        ticks = [t for t in ticks if t == 1 or math.log2(t) % 1 == 0 or math.log10(t) % 1 == 0][:7]
    return left, ticks, right


def _fmt_hr(hr, lo, hi) -> str:
    if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in (hr, lo, hi)):
        return "-"
    return f"{hr:.2f} ({lo:.2f} to {hi:.2f})"


def _axis(ax, left, ticks, right, xlabel: str | None) -> None:
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvline(1.0, color=GREY, lw=0.7)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=FONT["small"])
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", left=False, labelleft=False)


def _layout_rows(models: pd.DataFrame, outcome_labels: dict, chars: int) -> list[dict]:
    rows = []
    for o in dict.fromkeys(models["outcome"]):
        rows.append({"kind": "header", "text": mpl(wrap(outcome_labels.get(o, o), chars))})
        for r in models.loc[models["outcome"] == o].to_dict("records"):
            rows.append({"kind": "model", **r})
    return rows


def forest_figure(models: pd.DataFrame, *, outcome_labels: dict, model_labels: dict):
    """Forest plot of the exposure HR per outcome and model (matplotlib figure).

    Parameters
    ----------
    models : pandas.DataFrame
        ``outcome, model, hr, ci_lower, ci_upper, events`` in the results table's order (``events``:
        text such as ``"41 / 259"``, exposed / reference, already suppressed).
    outcome_labels, model_labels : dict
        Names -> labels.
    """
    order = list(dict.fromkeys(models["model"]))
    color = {m: COLORS[i % len(COLORS)] for i, m in enumerate(order)}
    marker = {m: _MARKERS[i % len(_MARKERS)] for i, m in enumerate(order)}
    size = FONT["small"]
    with style():
        probe = new_figure(WIDTH, 3)
        rows = _layout_rows(models, outcome_labels, 34)
        label_w = max([text_width(probe, r["text"].split("\n")[0], FONT["body"], "bold") for r in rows
                       if r["kind"] == "header"] + [text_width(probe, mpl(model_labels.get(m, m)), size) + 0.15
                                                    for m in order]) + 0.12
        hr_texts = [_fmt_hr(r["hr"], r["ci_lower"], r["ci_upper"]) for r in rows if r["kind"] == "model"]
        hr_w = max([text_width(probe, t, size) for t in hr_texts] + [text_width(probe, "HR (95% CI)", size, "bold")])
        ev_texts = [str(r.get("events") or "-") for r in rows if r["kind"] == "model"]
        ev_w = max([text_width(probe, t, size) for t in ev_texts] + [text_width(probe, "Events (exp. / ref.)", size,
                                                                                 "bold")])
        plot_w = WIDTH - label_w - hr_w - ev_w - 0.55
        heights = [_ROW * (r["text"].count("\n") + 1) if r["kind"] == "header" else _ROW for r in rows]
        body = sum(heights)
        ncol = _legend_columns(probe, order, model_labels, label_w + plot_w - 0.1)
        bottom, top = 0.45, 0.28 + 0.17 * math.ceil(len(order) / ncol)
        height = bottom + body + top
        fig = new_figure(WIDTH, height)
        ax = fig.add_axes((label_w / WIDTH, bottom / height, plot_w / WIDTH, body / height))
        ax.set_ylim(0, body)
        finite = models[["ci_lower", "ci_upper"]].to_numpy(float)
        finite = finite[np.isfinite(finite) & (finite > 0)]
        left, ticks, right = hr_ticks(finite.min() if finite.size else 1.0, finite.max() if finite.size else 1.0)
        _axis(ax, left, ticks, right, "Hazard ratio (95% CI), log scale")
        x_hr = (label_w + plot_w + 0.2) / WIDTH
        x_ev = (label_w + plot_w + 0.2 + hr_w + 0.2) / WIDTH
        y_head = (bottom + body + 0.06) / height
        fig.text(x_hr, y_head, "HR (95% CI)", fontsize=size, weight="bold", va="bottom")
        fig.text(x_ev, y_head, "Events (exp. / ref.)", fontsize=size, weight="bold", va="bottom")
        y = body
        for i, (r, h) in enumerate(zip(rows, heights)):
            yc = y - h / 2
            yf = (bottom + yc) / height
            if r["kind"] == "header":
                fig.text(0.06 / WIDTH, yf, r["text"], fontsize=FONT["body"], weight="bold", va="center")
            else:
                m = r["model"]
                fig.text(0.2 / WIDTH, yf, mpl(model_labels.get(m, m)), fontsize=size, va="center")
                hr, lo, hi = (float(r[c]) if r[c] is not None else np.nan for c in ("hr", "ci_lower", "ci_upper"))
                if np.isfinite(hr) and np.isfinite(lo) and np.isfinite(hi):
                    ax.errorbar([hr], [yc], xerr=[[hr - max(lo, left)], [min(hi, right) - hr]], fmt=marker[m],
                                ms=3.5, capsize=1.8, lw=0.9, color=color[m])
                fig.text(x_hr, yf, _fmt_hr(hr, lo, hi), fontsize=size, va="center")
                fig.text(x_ev, yf, mpl(str(r.get("events") or "-")), fontsize=size, va="center",
                         gid=f"count-forest-{i}")
            y -= h
        _legend(fig, order, model_labels, color, marker, 0.06, ncol)
        return fig


def _legend_columns(fig, order, model_labels, width) -> int:
    """As many legend columns as fit ``width`` inches."""
    w = max([text_width(fig, mpl(model_labels.get(m, m)), FONT["small"]) for m in order] + [0.3]) + 0.45
    return max(1, min(len(order), int(width // w)))


def _legend(fig, order, model_labels, color, marker, x0, ncol) -> None:
    """One legend (marker per model) above the plot, in ``ncol`` columns."""
    handles = [Line2D([], [], color=color[m], marker=marker[m], ls="", ms=3.5) for m in order]
    texts = [mpl(model_labels.get(m, m)) for m in order]
    height = fig.get_figheight()
    fig.legend(handles, texts, loc="upper left", bbox_to_anchor=(x0 / WIDTH, 1 - 0.02 / height), ncol=ncol,
               frameon=False, fontsize=FONT["small"], handletextpad=0.3, columnspacing=0.8, borderaxespad=0)


def _grid_panel(ax, part: pd.DataFrame, labels: list, body: float, left: float, right: float) -> None:
    """One outcome's estimates, a row per analysis label (the main analysis in colour)."""
    for i, lab in enumerate(labels):
        if lab not in part.index:
            continue
        r = part.loc[lab]
        hr, lo, hi = float(r["hr"]), float(r["ci_lower"]), float(r["ci_upper"])
        if not (np.isfinite(hr) and np.isfinite(lo) and np.isfinite(hi)):
            continue
        yc, color = body - (i + 0.5) * _ROW, COLORS[0] if i == 0 else GREY
        if left <= hr <= right:
            ax.errorbar([hr], [yc], xerr=[[hr - max(lo, left)], [min(hi, right) - hr]], fmt="o", ms=3,
                        capsize=1.5, lw=0.8, color=color)
        else:  # off the panel's scale: the visible part of the interval and an arrow at the edge
            if max(lo, left) < min(hi, right):
                ax.plot([max(lo, left), min(hi, right)], [yc, yc], lw=0.8, color=color)
            ax.plot([left if hr < left else right], [yc], marker="<" if hr < left else ">", ms=3.5, color=color,
                    clip_on=False)


def grid_forest_figure(rows: pd.DataFrame, *, outcome_labels: dict, title: str = ""):
    """Grid forest: one panel per outcome, one row per analysis (main, sensitivity variants, subgroup
    levels, periods) of one model (matplotlib figure).

    Parameters
    ----------
    rows : pandas.DataFrame
        ``row, outcome, hr, ci_lower, ci_upper``; ``row`` is the row label, rows in display order.
    """
    labels = list(dict.fromkeys(rows["row"]))
    outs = list(dict.fromkeys(rows["outcome"]))
    with style():
        probe = new_figure(WIDTH, 3)
        label_w = max(text_width(probe, mpl(t), FONT["small"]) for t in labels) + 0.15
        npan = max(len(outs), 1)
        gap = 0.22
        pan_w = (WIDTH - label_w - 0.1 - gap * (npan - 1)) / npan
        chars = max(int(pan_w / 0.06), 10)
        titles = [mpl(wrap(outcome_labels.get(o, o), chars)) for o in outs]
        title_h = 0.16 * max(t.count("\n") + 1 for t in titles) + 0.1
        body = _ROW * len(labels)
        bottom = 0.45
        height = bottom + body + title_h + (0.25 if title else 0.05)
        fig = new_figure(WIDTH, height)
        vals = rows[["ci_lower", "ci_upper"]].to_numpy(float)
        vals = vals[np.isfinite(vals) & (vals > 0)]
        left, ticks, right = hr_ticks(max(vals.min(), 0.1) if vals.size else 1, min(vals.max(), 10) if vals.size else 1)
        if len(ticks) > 3:  # narrow panels: the outermost ticks and 1
            ticks = sorted({ticks[0], 1, ticks[-1]})
        for j, o in enumerate(outs):
            ax = fig.add_axes(((label_w + j * (pan_w + gap)) / WIDTH, bottom / height, pan_w / WIDTH, body / height))
            ax.set_ylim(0, body)
            _axis(ax, left, ticks, right, None)
            ax.set_title(titles[j], fontsize=FONT["small"], loc="center")
            _grid_panel(ax, rows.loc[rows["outcome"] == o].set_index("row"), labels, body, left, right)
        for i, lab in enumerate(labels):
            fig.text(0.06 / WIDTH, (bottom + body - (i + 0.5) * _ROW) / height, mpl(lab), fontsize=FONT["small"],
                     va="center", weight="bold" if i == 0 else "normal")
        fig.text((label_w + (WIDTH - label_w - 0.1) / 2) / WIDTH, 0.04 / height, "Hazard ratio (95% CI), log scale",
                 fontsize=FONT["small"], ha="center", va="bottom")
        if title:
            fig.text(0.06 / WIDTH, 1 - 0.04 / height, mpl(title), fontsize=FONT["title"], va="top")
        return fig
