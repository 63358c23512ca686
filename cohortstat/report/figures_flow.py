"""The patient-flow diagram (STROBE): a source-population box, then per group a column of boxes with the
patients remaining after each rule and, beside each arrow, a box with the patients excluded and why.

Text is wrapped to the box width, never cut; box heights follow their text. Counts arrive already
suppressed (ints, ``"<k"`` or ``"*"``) and are drawn as their own text elements with ids starting
``count`` (read by the disclosure scan).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from cohortstat.constants import BIRTH_YEAR_STEP
from cohortstat.report.safe_text import mpl
from cohortstat.report.style import FONT, GREY, WIDTH, new_figure, style, wrap

__all__ = ["exclusion_reason", "flow_figure"]

_LINE = FONT["small"] * 1.32 / 72  # line height, inches
_PAD = 0.07
_GAP = 0.28  # vertical space between boxes (arrow)
_REASONS = {"in_both": "qualified for both groups", "matching": "not in a matched set",
            "entry": "no qualifying stay"}


_STEPS = {"in_both": "Qualifying for one group only"}


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "= -"
    return f"= {v}" if isinstance(v, str) else f"= {int(v):,}"


def exclusion_reason(rule_id: str, description: str) -> str:
    """The text of an exclusion box: why its patients left (the rule they did not meet)."""
    if rule_id.endswith(BIRTH_YEAR_STEP):
        return "Excluded: birth year unknown"
    if rule_id in _REASONS:
        return f"Excluded: {_REASONS[rule_id]}"
    return f"Excluded, not meeting: {description[:1].lower()}{description[1:]}"


def _box(ax, x, y_top, w, h, fc, ec, lw=0.7):
    ax.add_patch(FancyBboxPatch((x, y_top - h), w, h, boxstyle="round,pad=0,rounding_size=0.04", fc=fc, ec=ec,
                                lw=lw))


def _arrow(ax, a, b):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=7, lw=0.7, color=GREY,
                                 shrinkA=0, shrinkB=0))


def _lines(text: str) -> int:
    return text.count("\n") + 1


def flow_figure(attrition: pd.DataFrame, *, groups, labels: dict, source: str | None = None):
    """The flow diagram as a matplotlib figure.

    Parameters
    ----------
    attrition : pandas.DataFrame
        Published attrition rows: ``rule_id, description, n_<group>, excluded_<group>`` (counts
        already suppressed).
    groups : sequence of str
    labels : dict
        Group name -> label.
    source : str, optional
        Text of the source-population box (data source and period).
    """
    rows = attrition.reset_index(drop=True).to_dict("records")
    ng = max(len(groups), 1)
    col = WIDTH / ng
    main_w, exc_w = col * 0.5, col * 0.4
    main_chars, exc_chars = int(main_w / 0.056), int(exc_w / 0.056)
    texts = [wrap(mpl(_STEPS.get(r.get("rule_id")) or str(r.get("description") or r.get("rule_id"))), main_chars)
             for r in rows]
    reasons = [wrap(mpl(exclusion_reason(str(r.get("rule_id")), str(r.get("description") or ""))), exc_chars)
               for r in rows]
    heights = [(_lines(t) + 1) * _LINE + 2 * _PAD for t in texts]
    exc_h = [(_lines(t) + 1) * _LINE + 2 * _PAD for t in reasons]
    gaps = [max(_GAP, exc_h[i] + 0.12) if i else 0 for i in range(len(rows))]
    src = wrap(mpl(source or "Source population"), int((WIDTH * 0.7) / 0.056))
    src_h = (_lines(src)) * _LINE + 2 * _PAD
    head = src_h + 0.25 + 0.3
    height = head + sum(heights) + sum(gaps) + 0.1
    with style():
        fig = new_figure(WIDTH, height)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, WIDTH)
        ax.set_ylim(0, height)
        ax.axis("off")
        top = height - 0.05
        _box(ax, WIDTH * 0.15, top, WIDTH * 0.7, src_h, "#eef2f7", GREY)
        ax.text(WIDTH / 2, top - src_h / 2, src, ha="center", va="center", fontsize=FONT["small"])
        for gi, g in enumerate(groups):
            x0 = gi * col + 0.08
            xc = x0 + main_w / 2
            y = top - src_h - 0.25
            _arrow(ax, (xc, top - src_h), (xc, y - 0.02))
            ax.text(xc, y - 0.12, mpl(wrap(labels.get(g, g), main_chars)), ha="center", va="center",
                    fontsize=FONT["body"], weight="bold")
            y -= 0.3
            for i, r in enumerate(rows):
                if i:
                    mid = y - gaps[i] / 2
                    _arrow(ax, (xc, y), (xc, y - gaps[i]))
                    _exclusion(ax, r, g, gi, i, reasons[i], (xc, mid), x0 + main_w + 0.12, exc_w, exc_h[i])
                    y -= gaps[i]
                _box(ax, x0, y, main_w, heights[i], "#f4f6fa", GREY)
                ax.text(xc, y - _PAD, texts[i], ha="center", va="top", fontsize=FONT["small"])
                n = _fmt(r.get(f"n_{g}"))
                word = "" if i == 0 else " remaining"
                ax.text(xc, y - heights[i] + _PAD, f"n {n}{word}", ha="center", va="bottom",
                        fontsize=FONT["small"], weight="bold", gid=f"count-flow-{gi}-{i}")
                y -= heights[i]
        return fig


def _exclusion(ax, row, g, gi, i, reason, origin, x, w, h):
    e = row.get(f"excluded_{g}")
    xc, mid = origin
    _arrow(ax, (xc, mid), (x, mid))
    _box(ax, x, mid + h / 2, w, h, "#ffffff", "#999999", lw=0.6)
    ax.text(x + w / 2, mid + h / 2 - _PAD, reason, ha="center", va="top", fontsize=FONT["small"])
    ax.text(x + w / 2, mid - h / 2 + _PAD, f"n {_fmt(e)}", ha="center", va="bottom", fontsize=FONT["small"],
            gid=f"count-excl-{gi}-{i}")
