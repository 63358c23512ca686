"""Reference-rate files of a study (``reference_rates: {file: ..., per: ...}``): read before any data.

:func:`attach_reference_rates` reads the CSV named by a study document (its path relative to the study
file), checks its columns and values, and returns the document with the rows in
``reference_rates.rates`` and the file's SHA-256 in ``reference_rates.sha256``: the resolved study
carries the rates (a lock is self-contained, a rerun needs no rate file) and a changed file changes the
spec hash. Problems are located at ``reference_rates.file`` and name the file and the line.

Columns: ``outcome`` (an outcome name of the study), ``age_lower`` (years, included), ``age_upper``
(years, excluded; empty or ``inf`` for an open-ended last band), ``sex`` (``1``/``male``, ``2``/``female``),
optional ``calendar_year``, ``rate`` (events per ``per`` person-years).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["RATE_COLUMNS", "attach_reference_rates", "read_rate_file"]

RATE_COLUMNS = ("outcome", "age_lower", "age_upper", "sex", "rate")
OPTIONAL_COLUMNS = ("calendar_year",)
#: Largest rate file read (bytes): a national table by outcome, 5-year band, sex and year is ~100 kB.
MAX_RATE_BYTES = 5_000_000
_SEX = {"1": 1, "2": 2, "male": 1, "female": 2, "m": 1, "f": 2}
_WHERE = "reference_rates.file"


class RateFileError(ValueError):
    """A problem of a rate file (message names the file and line)."""


def _int(text: str, column: str, line: int, name: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise RateFileError(f"{name} line {line}: {column} {text!r} is not a number") from None
    if not math.isfinite(value) or value != int(value):
        raise RateFileError(f"{name} line {line}: {column} {text!r} must be a whole number")
    return int(value)


def _row(raw: dict, line: int, name: str) -> dict:
    row: dict[str, Any] = {"outcome": (raw.get("outcome") or "").strip()}
    if not row["outcome"]:
        raise RateFileError(f"{name} line {line}: empty outcome")
    row["age_lower"] = _int((raw.get("age_lower") or "").strip(), "age_lower", line, name)
    upper = (raw.get("age_upper") or "").strip()
    row["age_upper"] = None if upper.lower() in ("", "inf") else _int(upper, "age_upper", line, name)
    if row["age_upper"] is not None and row["age_upper"] <= row["age_lower"]:
        raise RateFileError(f"{name} line {line}: age_upper {row['age_upper']} must be above age_lower "
                            f"{row['age_lower']} (bands are [age_lower, age_upper))")
    sex = (raw.get("sex") or "").strip().lower()
    if sex not in _SEX:
        raise RateFileError(f"{name} line {line}: sex {raw.get('sex')!r}; allowed: 1, 2, male, female")
    row["sex"] = _SEX[sex]
    year = (raw.get("calendar_year") or "").strip()
    row["calendar_year"] = _int(year, "calendar_year", line, name) if year else None
    try:
        row["rate"] = float((raw.get("rate") or "").strip())
    except ValueError:
        raise RateFileError(f"{name} line {line}: rate {raw.get('rate')!r} is not a number") from None
    if not math.isfinite(row["rate"]) or row["rate"] < 0:
        raise RateFileError(f"{name} line {line}: rate must be a finite number >= 0, got {raw.get('rate')!r}")
    return row


def read_rate_file(path: Path, name: str | None = None) -> tuple[list[dict], str]:
    """The rows of a rate file and the SHA-256 of its bytes.

    Raises
    ------
    RateFileError
        Missing or unreadable file, missing columns, a malformed value (with its line).
    """
    name = name or str(path)
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read(MAX_RATE_BYTES + 1)
    except FileNotFoundError:
        raise RateFileError(f"{name}: no such file (the path is relative to the study file)") from None
    except IsADirectoryError:
        raise RateFileError(f"{name}: is a directory, not a CSV file of rates") from None
    except OSError as exc:
        raise RateFileError(f"{name}: cannot read the file: {exc.strerror}") from None
    if len(raw) > MAX_RATE_BYTES:
        raise RateFileError(f"{name}: larger than {MAX_RATE_BYTES} bytes; a rate table is a few kB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RateFileError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in RATE_COLUMNS if c not in header]
    if missing:
        raise RateFileError(f"{name}: missing column(s) {', '.join(missing)}; expected columns "
                            f"{', '.join(RATE_COLUMNS)} and optionally calendar_year (found: {', '.join(header) or 'none'})")
    reader.fieldnames = header
    rows = [_row(r, i, name) for i, r in enumerate(reader, start=2)]
    if not rows:
        raise RateFileError(f"{name}: no rate rows below the header")
    if len({r["calendar_year"] is None for r in rows}) > 1:
        raise RateFileError(f"{name}: calendar_year is given on some rows only; fill it on every row or on none")
    return rows, hashlib.sha256(raw).hexdigest()


def attach_reference_rates(data: Any, base: Path | None) -> tuple[Any, list[tuple[str, str]]]:
    """``data`` with the rows and hash of its rate file filled in, and the problems met reading it.

    A document without ``reference_rates``, with a malformed one (field validation reports it) or with
    ``rates`` already given (a lock) is returned unchanged.
    """
    if not isinstance(data, Mapping):
        return data, []
    section = data.get("reference_rates")
    if not isinstance(section, Mapping) or section.get("rates") or not isinstance(section.get("file"), str):
        return data, []
    file = section["file"]
    path = Path(file) if base is None or Path(file).is_absolute() else Path(base) / file
    try:
        rows, sha = read_rate_file(path, name=file)
    except RateFileError as exc:
        return data, [(_WHERE, str(exc))]
    return {**data, "reference_rates": {**section, "sha256": sha, "rates": rows}}, []
