"""Cumulative incidence figure: the outcome and the competing event (death) side by side, each group with
its 95% confidence band, and the numbers at risk in a table aligned with the time axis under both panels.

The layout is measured, not guessed: the left column of the at-risk table is as wide as the longest
group label, the numbers are centred on the axis ticks, and the time axis ends where follow-up ends.
Inputs are what may be published: the curves' drawable corners (each step holding at least
``min_cell_count`` events) and the numbers at risk as already suppressed (ints, ``"<k"`` or ``"*"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter

from cohortstat.constants import DAYS_PER_YEAR
from cohortstat.report.safe_text import mpl
from cohortstat.report.style import COLORS, FONT, GREY, LINESTYLES, WIDTH, new_figure, style, text_width, wrap

__all__ = ["cif_figure"]

_ROW = FONT["small"] * 1.45 / 72  # height of one at-risk row, inches
_AX_H = 2.3


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    return v if isinstance(v, str) else f"{int(v):,}"


def _step(ax, corners: pd.DataFrame, x_end: float, color: str, ls: str, label: str) -> None:
    c = corners.sort_values("time")
    x = np.concatenate([[0.0], c["time"].to_numpy(float) / DAYS_PER_YEAR])
    y = np.concatenate([[0.0], c["estimate"].to_numpy(float)]) * 100
    ax.step(x, y, where="post", color=color, ls=ls, label=label)
    if {"ci_lower", "ci_upper"} <= set(c.columns) and len(c):
        lo = np.concatenate([[0.0], np.nan_to_num(c["ci_lower"].to_numpy(float))]) * 100
        hi = np.concatenate([[0.0], np.nan_to_num(c["ci_upper"].to_numpy(float), nan=0.0)]) * 100
        ax.fill_between(x, lo, hi, step="post", color=color, alpha=0.15, lw=0)


def _panel(ax, curves: pd.DataFrame, groups, labels, x_end, years, title, chars) -> None:
    for i, g in enumerate(groups):
        part = curves.loc[curves["group"] == g] if len(curves) else curves
        if len(part):
            _step(ax, part, x_end, COLORS[i % len(COLORS)], LINESTYLES[i % len(LINESTYLES)],
                  mpl(labels.get(g, g)))
    ax.set_xlim(0, x_end)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(FixedLocator(years))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("Years since start of follow-up", fontsize=FONT["small"])
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    ax.set_title(mpl(wrap(title, chars)), loc="left", fontsize=FONT["title"])


def cif_figure(curves: dict, at_risk: pd.DataFrame, *, groups, labels: dict, titles: dict, years,
               follow_up_years: float):
    """The cumulative-incidence figure (matplotlib figure).

    Parameters
    ----------
    curves : dict
        ``{"outcome": corners, "death": corners}``; corners ``group, time (days), estimate, ci_lower,
        ci_upper`` (a group without rows is not drawn).
    at_risk : pandas.DataFrame
        ``group, year, n_risk`` (published values) at ``years``.
    groups, labels : the groups in order and their labels.
    titles : dict
        Panel titles, keys as ``curves``.
    years : sequence of float
        Axis ticks and at-risk marks (years).
    follow_up_years : float
        End of the time axis.
    """
    names = list(curves)
    x_end = max(float(follow_up_years), max(years, default=0), 1e-3)
    with style():
        probe = new_figure(WIDTH, 3)
        size = FONT["small"]
        row_labels = [mpl(wrap(labels.get(g, g), 30)) for g in groups]
        label_w = max((text_width(probe, t, size) for t in row_labels), default=0.5)
        nums = [_fmt(v) for v in at_risk["n_risk"]] or ["0"]
        num_w = max(text_width(probe, t, size) for t in nums)
        head_w = text_width(probe, "Number at risk", size, weight="bold")
        left = max(0.62, label_w + num_w / 2 + 0.15, head_w + 0.1)
        gap = max(0.62, num_w + 0.3)
        panel_w = (WIDTH - left - gap - max(0.15, num_w / 2 + 0.05)) / len(names)
        lines = [r.count("\n") + 1 for r in row_labels]
        table_h = _ROW * (1 + sum(lines)) + 0.08
        axis_bottom = table_h + 0.55
        legend_h = 0.3
        title_h = 0.32
        height = axis_bottom + _AX_H + title_h + legend_h
        fig = new_figure(WIDTH, height)
        axes = []
        for j, name in enumerate(names):
            x0 = left + j * (panel_w + gap)
            ax = fig.add_axes((x0 / WIDTH, axis_bottom / height, panel_w / WIDTH, _AX_H / height))
            _panel(ax, curves[name], groups, labels, x_end, years, titles.get(name, name), int(panel_w / 0.06))
            axes.append(ax)
        axes[0].set_ylabel("Cumulative incidence (%)")
        legend = {}
        for ax in axes:  # a group hidden in one panel may be drawn in the other
            for h, t in zip(*ax.get_legend_handles_labels()):
                legend.setdefault(t, h)
        order = [mpl(labels.get(g, g)) for g in groups]
        texts = [t for t in order if t in legend]
        handles = [legend[t] for t in texts]
        if handles:
            fig.legend(handles, texts, loc="upper left", bbox_to_anchor=(left / WIDTH, 1 - 0.04 / height),
                       ncol=len(handles), frameon=False, fontsize=FONT["small"], handlelength=2.6,
                       borderaxespad=0)
        _at_risk_table(fig, axes, at_risk, groups, row_labels, lines, years, x_end, height, table_h)
        return fig


def _at_risk_table(fig, axes, at_risk, groups, row_labels, lines, years, x_end, height, table_h) -> None:
    size = FONT["small"]
    y = table_h - 0.02
    fig.text(0.05 / WIDTH, y / height, "Number at risk", fontsize=size, weight="bold", va="top")
    y -= _ROW
    for i, g in enumerate(groups):
        yc = (y - _ROW * lines[i] / 2) / height
        fig.text(0.05 / WIDTH, yc, row_labels[i], fontsize=size, color=COLORS[i % len(COLORS)], va="center")
        part = at_risk.loc[at_risk["group"] == g].set_index("year")["n_risk"] if len(at_risk) else {}
        for ax in axes:
            box = ax.get_position()
            for yr in years:
                xf = box.x0 + box.width * yr / x_end
                fig.text(xf, yc, _fmt(part.get(yr)), fontsize=size, ha="center", va="center", color=GREY,
                         gid=f"count-risk-{i}-{yr:g}-{axes.index(ax)}")
        y -= _ROW * lines[i]
