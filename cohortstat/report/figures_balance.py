"""Balance figures: the Love plot of standardized differences and the preference-score overlap plot.

Both return SVG text that is byte-for-byte reproducible: no pyplot state (a bare ``Figure``), a fixed
``svg.hashsalt`` for element ids, and no creation date in the metadata. They read the tidy tables of
:class:`cohortstat.confounding.ConfoundingResult` (``balance`` and ``preference``) only, so the report
can suppress small counts in those tables before drawing.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cohortstat.errors import ReportError
from cohortstat.report.safe_text import mpl

__all__ = ["love_plot", "preference_plot", "write_svg"]

_RC = {
    "svg.hashsalt": "cohortstat",
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_THRESHOLD = 0.1
_GROUP_COLORS = ("#1f5fa8", "#c2571a")


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buf.getvalue()


def _require(df: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ReportError(f"the {what} table lacks column(s) {', '.join(missing)}")


def love_plot(balance: pd.DataFrame, *, title: str = "Covariate balance", after_label: str = "after") -> str:
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
    str
        SVG document.
    """
    _require(balance, ["covariate", "smd_before", "smd_after"], "balance")
    with matplotlib.rc_context(_RC):
        n = len(balance)
        fig = Figure(figsize=(6.0, 1.2 + 0.28 * max(n, 1)))
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
        return _svg(fig)


def preference_plot(preference: pd.DataFrame, *, title: str = "Preference score") -> str:
    """Distribution of the preference score by group: one panel per sample (all, matched).

    Parameters
    ----------
    preference : pandas.DataFrame
        ``sample, group, bin_lower, bin_upper, proportion`` (``ConfoundingResult.preference``).
        Suppressed cells may be NaN; they are drawn as gaps.

    Returns
    -------
    str
        SVG document.

    References
    ----------
    Walker AM et al. A tool for assessing the feasibility of comparative effectiveness research.
    Comp Eff Res 2013;3:11-20.
    """
    _require(preference, ["sample", "group", "bin_lower", "bin_upper", "proportion"], "preference")
    samples = list(dict.fromkeys(preference["sample"]))
    groups = list(dict.fromkeys(preference["group"]))
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(3.2 * max(len(samples), 1) + 0.6, 2.8))
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
        axes[0].legend(loc="upper center", frameon=False)
        return _svg(fig)


def write_svg(svg: str, path) -> Path:
    """Write SVG text to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.write_text(svg, encoding="utf-8")
    return path
