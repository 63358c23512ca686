"""One style for every figure of a report: fonts, sizes, colours, and the two output forms.

Every figure is a bare matplotlib ``Figure`` (no pyplot state) drawn inside :func:`style` and rendered by
:func:`render` to

- SVG text for the HTML report: text kept as ``<text>`` (``svg.fonttype "none"``) so it prints sharply
  and the disclosure scan can read it, a fixed ``svg.hashsalt`` and no date: the same results give the
  same bytes;
- PNG at :data:`PNG_DPI` dpi for manuscripts (``figures/*.png`` beside the SVG), no metadata.

Sizes are in points at the printed size; a full-width figure is :data:`WIDTH` inches (a journal's two
column width). Colours are the Okabe-Ito palette (distinguishable with colour-vision deficiency); the
exposed group is drawn solid and first, the reference group dashed.
"""

from __future__ import annotations

import io
import re
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["COLORS", "FONT", "GREY", "LINESTYLES", "PNG_DPI", "RC", "WIDTH", "Rendered", "inline_svg", "new_figure",
           "render", "style", "text_width", "wrap"]

#: Output resolution of the PNG copies (dots per inch).
PNG_DPI = 300
#: Full-width figure, inches (7.2 in = 183 mm, a two-column journal page).
WIDTH = 7.2
#: Font sizes (points): body text, small text (tables under axes, annotations), titles.
FONT = {"body": 8.0, "small": 7.0, "title": 8.5}
#: Okabe-Ito colours: exposed, reference, then further series (models, sensitivity analyses).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINESTYLES = ("-", "--", "-.", ":")
GREY = "#555555"
FAMILY = "DejaVu Sans"

RC = {
    "svg.hashsalt": "cohortstat",
    "svg.fonttype": "none",
    "font.family": FAMILY,
    "font.size": FONT["body"],
    "axes.titlesize": FONT["title"],
    "axes.labelsize": FONT["body"],
    "xtick.labelsize": FONT["small"],
    "ytick.labelsize": FONT["small"],
    "legend.fontsize": FONT["small"],
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "lines.linewidth": 1.4,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.use_mathtext": False,
    "savefig.facecolor": "white",
}


@dataclass(frozen=True)
class Rendered:
    """A figure in its two output forms: ``svg`` (text, to inline) and ``png`` (bytes, 300 dpi)."""

    svg: str
    png: bytes


def new_figure(width: float, height: float) -> Figure:
    """A bare figure (no pyplot state) with an Agg canvas, so text can be measured while laying out."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


@contextmanager
def style():
    """The report's matplotlib settings, for drawing and saving a figure."""
    with matplotlib.rc_context(RC):
        yield


def inline_svg(text: str) -> str:
    """SVG text ready to inline in HTML: no XML prolog / DOCTYPE, no RDF metadata or its namespace URLs."""
    text = text[text.find("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    return re.sub(r'\s+xmlns:(dc|cc|rdf)="[^"]*"', "", text)


def render(fig: Figure) -> Rendered:
    """The figure as inline SVG text and as PNG bytes (both reproducible byte for byte)."""
    with style():
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return Rendered(svg=inline_svg(buf.getvalue()), png=png.getvalue())


def wrap(text: str, width: int) -> str:
    """``text`` wrapped on word boundaries to lines of at most ``width`` characters (never cut)."""
    return "\n".join(textwrap.wrap(str(text), width=max(int(width), 8), break_long_words=False,
                                   break_on_hyphens=False)) or ""


def text_width(fig: Figure, text: str, size: float, weight: str = "normal") -> float:
    """Width of ``text`` in inches at ``size`` points (measured with the figure's renderer)."""
    t = fig.text(0, 0, text, fontsize=size, weight=weight)
    try:
        box = t.get_window_extent(fig.canvas.get_renderer())
    finally:
        t.remove()
    return box.width / fig.dpi
