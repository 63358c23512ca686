"""Finding and reading the tables of a data folder: ``NAME.parquet``, a ``NAME/`` folder of parquet
parts, or ``NAME.csv`` with ``;`` separators (the SNDS portal's exports), on DuckDB or Spark.

CSV files are read with every column as a string (keys keep their leading zeros; dates are parsed by
:func:`parse_day` with a format detected from the values). Column names are upper-cased for the SNDS
tables (:func:`read_table` with ``upper=True``) so that exports with lower-case headers read alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt

from cohortstat.errors import DataSchemaError

#: accepted date string formats: name -> (regex, (year, month, day) character slices)
DATE_FORMATS: dict[str, tuple[str, tuple[slice, slice, slice]]] = {
    "YYYY-MM-DD": (r"\d{4}-\d{2}-\d{2}", (slice(0, 4), slice(5, 7), slice(8, 10))),
    "DDMMYYYY": (r"\d{8}", (slice(4, 8), slice(2, 4), slice(0, 2))),
    "DD/MM/YYYY": (r"\d{2}/\d{2}/\d{4}", (slice(6, 10), slice(3, 5), slice(0, 2))),
}
#: at most this many distinct values are read to detect a date format
_SAMPLE = 200


@dataclass(frozen=True)
class TableFile:
    """A table found in a folder: its name as found, the path and the kind (parquet, folder, csv)."""

    name: str
    path: Path
    kind: str


def list_tables(folder: Path) -> dict[str, TableFile]:
    """Upper-cased table name -> file, for every parquet file, parquet folder and CSV file of ``folder``."""
    found: dict[str, TableFile] = {}
    for p in sorted(Path(folder).iterdir()):
        if p.name.startswith((".", "_")):
            continue
        if p.is_file() and p.suffix.lower() == ".parquet":
            kind = "parquet"
        elif p.is_file() and p.suffix.lower() == ".csv":
            kind = "csv"
        elif p.is_dir() and any(p.glob("*.parquet")):
            kind = "folder"
        else:
            continue
        stem = p.stem if p.is_file() else p.name
        key = stem.upper()
        if key in found:
            raise DataSchemaError(
                f"table {stem} is in {folder} twice ({found[key].path.name} and {p.name}); keep one "
                "file (parquet, a folder of parquet parts, or a ';'-separated CSV) per table"
            )
        found[key] = TableFile(stem, p, kind)
    return found


def read_table(engine, tf: TableFile, upper: bool = False) -> ibis.Table:
    """Register a table file on ``engine`` and return it (column names upper-cased if ``upper``)."""
    try:
        if tf.kind == "csv":
            t = engine.read_csv(tf.path, tf.name.lower())
        else:
            t = engine.read_parquet(tf.path, tf.name.lower())
        cols = t.columns
    except DataSchemaError:
        raise
    except Exception as exc:  # noqa: BLE001 - engine-specific read errors become one located error
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise DataSchemaError(
            f"cannot read {tf.path}: {first}. Check that the file is a complete parquet file (or a "
            "';'-separated CSV with a header line) and not truncated"
        ) from None
    if upper:
        ren = {c.upper(): c for c in cols if c != c.upper()}
        if ren:
            t = t.rename(ren)
    return t


def require(t: ibis.Table, columns, where: str, hint: str) -> None:
    """Raise a located :class:`DataSchemaError` when ``t`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in t.columns]
    if missing:
        raise DataSchemaError(
            f"{where} lacks column(s) {', '.join(missing)}; it has {', '.join(t.columns)}. {hint}"
        )


def as_string(col: ibis.Column) -> ibis.Column:
    """A key column as a trimmed string (integers without decimals)."""
    if col.type().is_floating():
        col = col.cast(dt.int64)
    return col.cast(dt.string).strip()


def strip(col: ibis.Column) -> ibis.Column:
    """``col.strip()`` (a string column), computed only on the values it can change.

    Stripping is costly on some engines and almost always a no-op on keys and codes: a value whose
    first and last characters sort after the space (whitespace - space, tab, newline, ... - sorts
    at or before it, byte-wise on every engine) is returned as it is.
    """
    clean = (col.substr(0, 1) > " ") & (col.right(1) > " ")
    return ibis.ifelse(clean, col, col.strip())


def as_key(col: ibis.Column) -> ibis.Column:
    """:func:`as_string` (a key as a trimmed string), with the cheaper :func:`strip`."""
    if col.type().is_floating():
        col = col.cast(dt.int64)
    return strip(col.cast(dt.string))


def _detect_format(engine, t: ibis.Table, column: str, where: str) -> str:
    col = t[column].cast(dt.string).strip()
    sample = engine.to_pandas(
        t.select(v=col).filter(lambda s: s.v.notnull() & (s.v != "")).distinct().limit(_SAMPLE)
    )["v"].tolist()
    if not sample:
        return "YYYY-MM-DD"
    for name, (pattern, _) in DATE_FORMATS.items():
        if all(re.fullmatch(pattern, v) for v in sample):
            return name
    bad = [v for v in sample if not any(re.fullmatch(p, v) for p, _ in DATE_FORMATS.values())]
    shown = ", ".join(repr(v) for v in (bad or sample)[:3])
    raise DataSchemaError(
        f"{where}: column {column} holds dates in an unknown or mixed format (e.g. {shown}); "
        f"accepted: a date type, or strings {', '.join(DATE_FORMATS)} (one format per column)"
    )


def parse_date(engine, t: ibis.Table, column: str, where: str) -> ibis.Column:
    """Column ``column`` of ``t`` as a date, null when empty.

    Date and timestamp columns are taken as they are; strings are parsed with the one format of
    :data:`DATE_FORMATS` that every value matches (detected on up to 200 distinct values). A string
    whose month or day is out of range becomes null (and is counted by the data checks as a null date).
    """
    col = t[column]
    typ = col.type()
    if typ.is_null():
        return ibis.null(dt.date)
    if typ.is_timestamp():
        return col.date()
    if typ.is_date():
        return col
    if not typ.is_string():
        if typ.is_integer():  # DDMMYYYY stored as a number loses its leading zero
            col = col.cast(dt.string).lpad(8, "0")
        else:
            raise DataSchemaError(f"{where}: column {column} must be a date or a date string, found {typ}")
    fmt = _detect_format(engine, t.select(**{column: col}), column, where)
    s = col.cast(dt.string).strip()
    ys, ms, ds = DATE_FORMATS[fmt][1]

    def part(sl: slice) -> ibis.Column:
        return s.substr(sl.start, sl.stop - sl.start).cast(dt.int64)

    y, m, d = part(ys), part(ms), part(ds)
    days_in_month = ibis.cases(
        (m == 2, ibis.ifelse(((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0), 29, 28)),
        (m.isin([4, 6, 9, 11]), 30),
        else_=31,
    )
    ok = s.notnull() & (s.length() >= 8) & m.between(1, 12) & (d >= 1) & (d <= days_in_month)
    safe = ibis.date(ibis.ifelse(ok, y, 1970), ibis.ifelse(ok, m, 1), ibis.ifelse(ok, d, 1))
    return ibis.ifelse(ok, safe, ibis.null(dt.date))


def day(date: ibis.Column) -> ibis.Column:
    """A date column as a day number (days since 1970-01-01)."""
    return date.epoch_days().cast(dt.int64)


def year_of_day(days: ibis.Column) -> ibis.Column:
    """Calendar year of a day number, in integer arithmetic (identical on every engine).

    The civil-from-days algorithm of H. Hinnant ("chrono-compatible low-level date algorithms").
    """
    z = days.cast(dt.int64) + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    return (yoe + era * 400 + ibis.ifelse(mp >= 10, 1, 0)).cast(dt.int64)
