"""Small-cell suppression helpers and the disclosure scan of a report folder.

The suppression of a whole report is solved in one ledger (:mod:`cohortstat.report.disclosure`,
declared by :mod:`cohortstat.report.protect`); the helpers below are the single-table rules it
generalises, kept for scripts that suppress one table. :func:`scan_outputs` is the independent check
that reads the written files back.

Rule (SNDS / CNIL publication rules, as OHDSI's results model applies ``minCellCount``): a count of
persons or events between 1 and ``min_cell_count - 1`` is never shown; it is written ``"<{k}"``
(``"<10"`` by default). Zero is shown (a zero reveals no one). A suppressed cell must not be derivable
from the cells that are shown, so *secondary* suppression hides complements:

- a partition of a group (levels of a categorical covariate, or a binary covariate and its complement
  ``N - n``): when exactly one level is suppressed, the smallest other non-zero level is hidden too;
  percentages follow their counts;
- an attrition chain ``n_0, excluded_1, n_1, ...`` (``excluded_k = n_{k-1} - n_k``): a suppressed
  ``excluded_k`` is pooled with the following (else preceding) steps, hiding the ``n`` between them,
  until the pooled total that the shown ``n`` still reveal is zero or at least ``min_cell_count``;
- a rate or its CI next to shown person-years reveals its event count: it is hidden with the count.

Which fields are counts is declared, not guessed: :data:`COUNT_FIELD` is the results data model's
rule (names ``n``, ``n_*``, ``excluded_*``, ``events``, ``*_events``, ``n_risk``, ``count``), and HTML
or SVG cells carry ``class="count"`` / an ``id`` starting ``count``.

:func:`scan_outputs` re-reads every file of an output folder and fails on any shown count in
``1..min_cell_count-1`` in a count field, on an attrition chain that reveals a suppressed cell, and on
any patient-level column or identifier.
"""

from __future__ import annotations

import csv
import html.parser
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cohortstat.report.disclosure import SECONDARY, suppressed_label

__all__ = [
    "COUNT_FIELD",
    "PATIENT_FIELDS",
    "DisclosureProblem",
    "is_count_field",
    "scan_outputs",
    "suppress_attrition",
    "suppress_partition",
    "suppress_value",
    "suppressed_label",
    "SECONDARY",
]


#: Field names that hold counts of persons or events (the results data model).
COUNT_FIELD = re.compile(
    r"^(n|n_.+|excluded(_.+)?|events|.+_events|events_.+|n_risk|n_at_risk|count|at_risk(_.+)?|rows)$"
)
#: Column / key names that would be patient-level data; never in an output.
PATIENT_FIELDS = frozenset(
    {
        "person_key",
        "patient_id",
        "stay_id",
        "birth_year",
        "death_date",
        "index_admission",
        "index_discharge",
        "follow_up_start",
        "admission_date",
        "discharge_date",
    }
)
# fields that are not counts although their names look like one (model sizes are checked elsewhere)
# (weighted events are sums of propensity-score weights; where they hide a count, the ledger protects it)
_NOT_COUNT = frozenset({"n_levels", "weighted_events"})


def is_count_field(name: str) -> bool:
    """True when a column / key of this name holds a count that falls under the minimum cell count."""
    return name not in _NOT_COUNT and bool(COUNT_FIELD.match(str(name)))


def _is_small(value, k: int) -> bool:
    if value is None or isinstance(value, str):
        return False
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(v) and 0 < v < k)


def suppress_value(value, min_cell_count: int):
    """``value`` itself, or ``"<k"`` when it is a count in ``1..k-1``. Integers come back as int."""
    if _is_small(value, min_cell_count):
        return suppressed_label(min_cell_count)
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def suppress_partition(counts: Sequence[int], min_cell_count: int) -> list[bool]:
    """Which cells of a partition (counts summing to a shown total) to hide.

    Primary: every count in ``1..k-1``. Secondary: when the hidden cells alone sum to something the
    total would reveal (one hidden cell, or hidden cells whose sum is below ``k``), hide the smallest
    shown non-zero cell too, until no hidden cell can be derived.
    """
    k = int(min_cell_count)
    vals = [int(c) for c in counts]
    hide = [0 < v < k for v in vals]
    while any(hide):
        hidden = [v for v, h in zip(vals, hide) if h]
        nonzero_hidden = [v for v in hidden if v > 0]
        if len(nonzero_hidden) >= 2 and sum(hidden) >= k:
            break
        shown = [(v, i) for i, (v, h) in enumerate(zip(vals, hide)) if not h and v > 0]
        if not shown:
            break
        hide[min(shown)[1]] = True
    return hide


def suppress_attrition(attrition: pd.DataFrame, groups: Sequence[str], min_cell_count: int) -> pd.DataFrame:
    """Attrition table with small counts and the cells that would reveal them shown as ``"<k"``.

    Parameters
    ----------
    attrition : pandas.DataFrame
        ``step, rule_id, description, n_<group>, excluded_<group>`` (the cohort builder's table;
        ``excluded`` may be missing and is then derived from consecutive ``n``).
    groups : sequence of str
    min_cell_count : int

    Returns
    -------
    pandas.DataFrame
        Same rows; count columns of dtype object holding ints or ``"<k"``.
    """
    k = int(min_cell_count)
    label = suppressed_label(k)
    out = attrition.copy().reset_index(drop=True)
    for g in groups:
        n = [int(v) for v in out[f"n_{g}"]]
        exc_col = f"excluded_{g}"
        exc = [0] + [n[i - 1] - n[i] for i in range(1, len(n))]
        hide_n = [0 < v < k for v in n]
        hide_e = [0 < v < k for v in exc]
        hide_e[0] = False
        # an n hidden after a shown n: the step's exclusion would reveal it
        for i in range(1, len(n)):
            if hide_n[i] and not hide_n[i - 1]:
                hide_e[i] = True
        # pool each hidden exclusion with neighbours until the revealed total is safe
        changed = True
        while changed:
            changed = False
            i = 1
            while i < len(n):
                if not hide_e[i]:
                    i += 1
                    continue
                j = i
                while j + 1 < len(n) and hide_e[j + 1] and hide_n[j]:
                    j += 1
                lo, hi = i - 1, j  # shown ends n[lo], n[hi] reveal sum exc[i..j]
                total = sum(exc[i : j + 1])
                ends_shown = not hide_n[lo] and not hide_n[hi]
                if ends_shown and 0 < total < k:
                    if j + 1 < len(n):
                        hide_n[j] = True
                        hide_e[j + 1] = True
                    elif lo >= 1:
                        hide_n[lo] = True
                        hide_e[lo] = True
                    else:
                        hide_n[hi] = True
                    changed = True
                i = j + 1
        def show(v, h):
            return v if not h else (label if 0 < v < k else SECONDARY)

        out[f"n_{g}"] = pd.Series([show(v, h) for v, h in zip(n, hide_n)], dtype=object)
        out[exc_col] = pd.Series([None] + [show(v, h) for v, h in zip(exc[1:], hide_e[1:])], dtype=object)
    return out


# ----------------------------------------------------------------------------------------- the scan


class DisclosureProblem(str):
    """One problem found by :func:`scan_outputs` (a readable sentence)."""


def _check_value(where: str, field: str, value, k: int, problems: list) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)) and _is_small(value, k):
        problems.append(DisclosureProblem(f"{where}: count field {field!r} shows {value} (< {k})"))
    elif isinstance(value, str):
        try:
            v = float(value)
        except ValueError:
            return
        if _is_small(v, k):
            problems.append(DisclosureProblem(f"{where}: count field {field!r} shows {value} (< {k})"))


def _scan_json(obj, where: str, k: int, problems: list, field: str | None = None) -> None:
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in PATIENT_FIELDS:
                problems.append(DisclosureProblem(f"{where}: patient-level key {key!r}"))
            if isinstance(value, (dict, list)):
                _scan_json(value, f"{where}.{key}", k, problems, key)
            elif is_count_field(key):
                _check_value(where, key, value, k, problems)
        # tidy rows: {"statistic": "n_events", "value": 3}
        stat = obj.get("statistic")
        if isinstance(stat, str) and is_count_field(stat) and "value" in obj:
            _check_value(where, stat, obj["value"], k, problems)
    elif isinstance(obj, list):
        if field is not None and is_count_field(field):
            for i, value in enumerate(obj):
                if not isinstance(value, (dict, list)):
                    _check_value(f"{where}[{i}]", field, value, k, problems)
        for i, value in enumerate(obj):
            if isinstance(value, (dict, list)):
                _scan_json(value, f"{where}[{i}]", k, problems, field)


def _scan_csv(path: Path, name: str, k: int, problems: list) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header = rows[0].keys() if rows else []
    for col in header:
        if col in PATIENT_FIELDS:
            problems.append(DisclosureProblem(f"{name}: patient-level column {col!r}"))
    for r, row in enumerate(rows, start=2):
        for col, value in row.items():
            if col is not None and is_count_field(col):
                _check_value(f"{name}:{r}", col, value, k, problems)
        stat = row.get("statistic")
        if stat and is_count_field(stat):
            _check_value(f"{name}:{r}", stat, row.get("value"), k, problems)
    # an attrition chain must not reveal a hidden exclusion
    ncols = [c for c in header if c.startswith("n_")]
    if path.name.startswith("attrition") and rows:
        for col in ncols:
            g = col[2:]
            exc_col = f"excluded_{g}"
            if exc_col not in header:
                continue
            for i in range(1, len(rows)):
                a, b, e = rows[i - 1][col], rows[i][col], rows[i][exc_col]
                if not _numeric(e) and _numeric(a) and _numeric(b):
                    diff = float(a) - float(b)
                    if 0 < diff < k:
                        problems.append(
                            DisclosureProblem(f"{name}:{i + 2}: suppressed {exc_col} revealed by {col}")
                        )


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _CountCells(html.parser.HTMLParser):
    """Collects the text of every element marked as a count (class "count" or id "count...")."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.cells: list[str] = []
        self.current: list[str] = []
        self.tags: list[str] = []
        self.bad: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        marked = "count" in (a.get("class") or "").split() or (a.get("id") or "").startswith("count")
        if self.depth:
            self.depth += 1
        elif marked:
            self.depth = 1
            self.current = []
        if tag in ("script", "link", "iframe", "object", "embed"):
            self.bad.append(tag)

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            if self.depth == 0:
                self.cells.append("".join(self.current).strip())

    def handle_data(self, data):
        if self.depth:
            self.current.append(data)


def _scan_markup(text: str, name: str, k: int, problems: list, identifiers: frozenset) -> None:
    parser = _CountCells()
    parser.feed(text)
    parser.close()
    for cell in parser.cells:
        for token in re.findall(r"[<]?\d[\d,]*(?:\.\d+)?", cell):
            if token.startswith("<"):
                continue
            _check_value(name, "count cell", token.replace(",", ""), k, problems)
    if parser.bad:
        problems.append(DisclosureProblem(f"{name}: active or external content <{parser.bad[0]}>"))


def _tokens(text: str) -> set[str]:
    # numeric surrogate keys cannot be told apart from counts in text: only non-numeric tokens of at
    # least 6 characters are compared with the identifiers (patient_id of the input data is such a string)
    return {t for t in re.findall(r"[A-Za-z0-9_-]{6,}", text) if not t.isdigit()}


def _identifiers_found(tokens: set[str], identifiers) -> set[str]:
    """The tokens that are patient identifiers.

    ``identifiers`` is an iterable of strings, the path of a parquet file (or folder of parquet
    files) with a ``patient_id`` column, or a function ``tokens -> identifiers among them``
    (:func:`cohortstat.sources.provenance.identifier_matcher`). With a path or a function the few
    thousand tokens of the outputs are joined with the identifiers inside DuckDB, and no identifier
    is ever loaded into Python.
    """
    if not tokens:
        return set()
    if callable(identifiers):
        return set(identifiers(set(tokens))) & tokens
    if isinstance(identifiers, (str, Path)):
        import duckdb

        src = Path(identifiers)
        pattern = str(src / "**" / "*.parquet") if src.is_dir() else str(src)
        con = duckdb.connect()
        try:
            con.execute("CREATE TEMP TABLE tokens(t VARCHAR)")
            con.executemany("INSERT INTO tokens VALUES (?)", [[t] for t in sorted(tokens)])
            rows = con.execute(
                "SELECT DISTINCT t FROM tokens SEMI JOIN (SELECT CAST(patient_id AS VARCHAR) AS id "
                "FROM read_parquet(?)) p ON tokens.t = p.id", [pattern]
            ).fetchall()
        finally:
            con.close()
        return {r[0] for r in rows}
    if isinstance(identifiers, (set, frozenset)):
        return {t for t in tokens if t in identifiers}
    ids = {s for s in map(str, identifiers) if len(s) >= 6 and not s.isdigit()}
    return tokens & ids


def _scan_lock(text: str, name: str, k: int, problems: list) -> None:
    """The lock is not a table of results, but its input row counts are counts."""
    try:
        lock = json.loads(text)
    except ValueError:
        return
    fps = lock.get("data_fingerprint") if isinstance(lock, dict) else None
    for table, fp in (fps or {}).items():
        if isinstance(fp, dict):
            _check_value(f"{name}: data_fingerprint.{table}", "rows", fp.get("rows"), k, problems)


def scan_outputs(
    out_dir, min_cell_count: int = 10, *, identifiers=()
) -> list[DisclosureProblem]:
    """Check every file of a report folder for disclosure of small counts or patients.

    Parameters
    ----------
    out_dir : path
        The folder (``report.html``, ``results.json``, ``*.csv``, ``figures/*.svg``, ...).
    min_cell_count : int
    identifiers : iterable of str, path, or callable, optional
        Patient identifiers (e.g. the data's patient_id) that must appear in no file: strings, the
        path of the input ``patients.parquet``, or a function returning the identifiers among a set of
        tokens (the last two compared inside DuckDB: cheap for millions of patients).
        Purely numeric identifiers are ignored (indistinguishable from counts).

    Returns
    -------
    list of DisclosureProblem
        Empty when the folder is safe to release.
    """
    k = int(min_cell_count)
    root = Path(out_dir)
    problems: list[DisclosureProblem] = []
    tokens_of: dict[str, set[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = str(path.relative_to(root))
        if path.suffix == ".png" and path.with_suffix(".svg").is_file():
            continue  # the PNG copy of a figure: drawn from the same data as its SVG, which is scanned
        if path.suffix == ".xlsx":  # the publication tables: only cells of tables.html (scanned below)
            scan_xlsx(path, name, path.with_suffix(".html"), problems)
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(DisclosureProblem(f"{name}: binary file in a report folder"))
            continue
        if path.suffix == ".csv":
            _scan_csv(path, name, k, problems)
        elif path.name == "study.lock.json":
            _scan_lock(text, name, k, problems)
        elif path.suffix == ".json":
            _scan_json(json.loads(text), name, k, problems)
        elif path.suffix in (".html", ".svg"):
            _scan_markup(text, name, k, problems, frozenset())
        tokens_of[name] = _tokens(text)
    if identifiers is not None:
        found = _identifiers_found(set().union(*tokens_of.values()) if tokens_of else set(), identifiers)
        for name, tokens in tokens_of.items():
            for token in sorted(tokens & found):
                problems.append(DisclosureProblem(f"{name}: contains patient identifier {token!r}"))
    return problems


class _CellTexts(html.parser.HTMLParser):
    """The text of every table cell of an HTML file."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells: set[str] = set()
        self.current: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th", "caption", "p"):
            self.current = []

    def handle_endtag(self, tag):
        if tag in ("td", "th", "caption", "p") and self.current is not None:
            self.cells.add(" ".join("".join(self.current).split()))
            self.current = None

    def handle_data(self, data):
        if self.current is not None:
            self.current.append(data)


def scan_xlsx(path: Path, name: str, html_path: Path, problems: list) -> None:
    """A workbook of the report holds only cells of its HTML twin (``tables.html``, scanned as markup)."""
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        texts = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                 if v is not None]
        wb.close()
    except Exception as exc:  # noqa: BLE001  (a corrupt workbook is a finding, not a crash)
        problems.append(DisclosureProblem(f"{name}: unreadable workbook ({type(exc).__name__})"))
        return
    if not html_path.is_file():
        problems.append(DisclosureProblem(f"{name}: no {html_path.name} beside it to check it against"))
        return
    parser = _CellTexts()
    parser.feed(html_path.read_text(encoding="utf-8"))
    for t in texts:
        t = " ".join(t.lstrip("'").split())
        if t and t not in parser.cells:
            problems.append(DisclosureProblem(f"{name}: cell {t[:40]!r} is not a cell of {html_path.name}"))
            return
