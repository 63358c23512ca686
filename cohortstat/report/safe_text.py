"""Text from a study file made safe for every output format.

Labels, descriptions and titles come from the study file and may hold anything: markup, control
characters, a ``$``, a leading ``=``. Each renderer passes them through one function here:

- :func:`plain` drops the characters no output may hold: C0 controls except tab and newline (NUL
  included), DEL, C1 controls, lone surrogates and the XML-forbidden non-characters U+FFFE/U+FFFF. It is
  applied to every string of ``results.json``, the HTML report (then HTML-escaped by Jinja2's autoescape)
  and the SVG figures (XML-escaped by matplotlib);
- :func:`mpl` also escapes ``$`` so matplotlib draws the text literally instead of parsing mathtext
  (``"cost $5 and $6"`` stays as written and never fails to parse);
- :func:`csv_cell` neutralises spreadsheet formulas: a text cell starting with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return is prefixed with ``'`` (OWASP's advice for CSV injection), so a
  spreadsheet shows it as text. Numbers are written as numbers and never altered.
"""

from __future__ import annotations

import re

__all__ = ["clean_tree", "csv_cell", "mpl", "plain"]

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain(text) -> str:
    """``text`` as a string without control characters (tab and newline kept)."""
    return _FORBIDDEN.sub("", str(text))


def mpl(text) -> str:
    """Text for matplotlib: :func:`plain`, with ``$`` escaped so no mathtext is parsed."""
    return plain(text).replace("$", r"\$")


def csv_cell(value):
    """A CSV cell value: text that a spreadsheet would run as a formula is prefixed with ``'``."""
    if isinstance(value, str):
        value = plain(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


def clean_tree(obj):
    """Every string in a JSON-like tree (dict keys included) passed through :func:`plain`."""
    if isinstance(obj, str):
        return plain(obj)
    if isinstance(obj, dict):
        return {clean_tree(k) if isinstance(k, str) else k: clean_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_tree(v) for v in obj]
    return obj
