"""Balance figures: the Love plot of standardized differences and the preference-score overlap plot.

``love_figure`` and ``preference_figure`` return matplotlib figures drawn in the report's style
(:mod:`cohortstat.report.style`); ``love_plot`` and ``preference_plot`` return their SVG text, byte-for-byte
reproducible (a fixed ``svg.hashsalt``, no creation date). They read the tidy tables of
:class:`cohortstat.confounding.ConfoundingResult` (``balance`` and ``preference``) only, so the report
can suppress small counts in those tables before drawing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cohortstat.errors import ReportError
from cohortstat.report.safe_text import mpl
from cohortstat.report.style import COLORS, FONT, new_figure, render, style

__all__ = ["love_figure", "love_plot", "preference_figure", "preference_plot", "write_svg"]

_THRESHOLD = 0.1
_GROUP_COLORS = COLORS[:2]


def _require(df: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ReportError(f"the {what} table lacks column(s) {', '.join(missing)}")


def love_plot(balance: pd.DataFrame, *, title: str = "Covariate balance", after_label: str = "after") -> str:
    """SVG text of :func:`love_figure`."""
    return render(love_figure(balance, title=title, after_label=after_label)).svg


def love_figure(balance: pd.DataFrame, *, title: str = "Covariate balance", after_label: str = "after"):
    """Love plot: absolute standardized difference per covariate, before and after adjustment.

    Parameters
    ----------
    balance : pandas.DataFrame
        ``covariate, smd_before, smd_after`` (``ConfoundingResult.balance``); NaN ``smd_after`` values
        are not drawn.
    title : str
    after_label : str
        Legend text of the adjusted sample (e.g. "matched", "IPTW").

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(balance, ["covariate", "smd_before", "smd_after"], "balance")
    with style():
        n = len(balance)
        fig = new_figure(6.0, 1.2 + 0.22 * max(n, 1))
        ax = fig.add_subplot()
        y = np.arange(n)[::-1]
        before = balance["smd_before"].abs().to_numpy(dtype=float)
        after = balance["smd_after"].abs().to_numpy(dtype=float)
        ax.scatter(before, y, marker="o", facecolors="none", edgecolors="#555555", label="before", zorder=3)
        ok = np.isfinite(after)
        if ok.any():
            ax.scatter(after[ok], y[ok], marker="o", color=_GROUP_COLORS[0], label=mpl(after_label), zorder=4)
            for yy, b, a in zip(y[ok], before[ok], after[ok]):
                ax.plot([b, a], [yy, yy], color="#bbbbbb", linewidth=0.8, zorder=2)
        ax.axvline(_THRESHOLD, color="#aa0000", linestyle="--", linewidth=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([mpl(c) for c in balance["covariate"]])
        top = np.nanmax(np.concatenate([before, after, [_THRESHOLD]]))
        ax.set_xlim(0, top * 1.08 + 1e-9)
        ax.set_xlabel("absolute standardized difference (dashed: 0.1)")
        ax.set_title(mpl(title))
        ax.legend(loc="lower right", frameon=False)
        fig.tight_layout()
        return fig


def preference_plot(preference: pd.DataFrame, *, title: str = "Preference score") -> str:
    """SVG text of :func:`preference_figure`."""
    return render(preference_figure(preference, title=title)).svg


def preference_figure(preference: pd.DataFrame, *, title: str = "Preference score"):
    """Distribution of the preference score by group: one panel per sample (all, matched).

    Parameters
    ----------
    preference : pandas.DataFrame
        ``sample, group, bin_lower, bin_upper, proportion`` (``ConfoundingResult.preference``).
        Suppressed cells may be NaN; they are drawn as gaps.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Walker AM et al. A tool for assessing the feasibility of comparative effectiveness research.
    Comp Eff Res 2013;3:11-20.
    """
    _require(preference, ["sample", "group", "bin_lower", "bin_upper", "proportion"], "preference")
    samples = list(dict.fromkeys(preference["sample"]))
    groups = list(dict.fromkeys(preference["group"]))
    with style():
        fig = new_figure(3.2 * max(len(samples), 1) + 0.6, 2.8)
        axes = fig.subplots(1, max(len(samples), 1), sharey=True, squeeze=False)[0]
        for ax, sample in zip(axes, samples):
            part = preference[preference["sample"] == sample]
            for k, group in enumerate(groups):
                g = part[part["group"] == group].sort_values("bin_lower")
                if g.empty:
                    continue
                edges = np.append(g["bin_lower"].to_numpy(float), g["bin_upper"].to_numpy(float)[-1])
                heights = pd.to_numeric(g["proportion"], errors="coerce").to_numpy(float)
                color = _GROUP_COLORS[k % len(_GROUP_COLORS)]
                ax.stairs(heights, edges, color=color, linewidth=1.2, label=mpl(group))
                ax.stairs(np.nan_to_num(heights), edges, fill=True, color=color, alpha=0.15)
            ax.set_xlim(0, 1)
            ax.set_xlabel("preference score")
            ax.set_title(mpl(f"{title} ({sample})"))
        axes[0].set_ylabel("proportion of group")
        axes[0].legend(loc="upper center", frameon=False, fontsize=FONT["small"])
        fig.tight_layout()
        return fig


def write_svg(svg: str, path) -> Path:
    """Write SVG text to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.write_text(svg, encoding="utf-8")
    return path
