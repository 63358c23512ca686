"""Provenance of a data folder, for any layout: a content fingerprint of its tables and the patient
identifiers that no output may contain.

The fingerprint of a table is its row count and an order-independent content hash computed in
DuckDB: the sum over rows of DuckDB's 64-bit ``hash`` of the whole row, so it does not depend on row
order or on how rows are split across parquet files (it does depend on the DuckDB version, recorded in
the lock). For the pmsi layout the tables are ``patients``, ``stays`` and ``diagnoses`` (and
``deaths`` when present); for the SNDS and OMOP layouts every table of the folder.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from cohortstat.errors import DataSchemaError
from cohortstat.sources.detect import resolve_source
from cohortstat.sources.files import TableFile, list_tables

PMSI_TABLES = ("patients", "stays", "diagnoses")
#: identifiers shorter than this are not searched for in outputs (OMOP integer ids would match any number)
MIN_IDENTIFIER_LENGTH = 8


def _relation(tf: TableFile) -> str:
    if tf.kind == "csv":
        return "read_csv(?, delim = ';', header = true, all_varchar = true)"
    return "read_parquet(?)"


def _target(tf: TableFile) -> str:
    return str(tf.path / "**" / "*.parquet") if tf.kind == "folder" else str(tf.path)


def fingerprint(folder: str | Path, source: str | None = None) -> dict:
    """Table name -> ``{"rows", "content_hash"}`` of the data folder (layout detected when None)."""
    root = Path(folder)
    name = resolve_source(root, source)
    tables = list_tables(root)
    if name == "pmsi":
        for t in PMSI_TABLES:
            if t.upper() not in tables:
                raise DataSchemaError(f"{root} has no {t}.parquet; point --data at the folder holding the input tables")
        wanted = [t.upper() for t in PMSI_TABLES] + (["DEATHS"] if "DEATHS" in tables else [])
    else:
        wanted = sorted(tables)
    out = {}
    con = duckdb.connect()
    try:
        for key in wanted:
            tf = tables[key]
            label = tf.name if name != "pmsi" else key.lower()
            try:
                n, h = con.execute(
                    f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR FROM {_relation(tf)} t",
                    [_target(tf)]).fetchone()
            except duckdb.Error as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                raise DataSchemaError(f"cannot read {tf.path}: {first}") from None
            out[label] = {"rows": int(n), "content_hash": str(h)}
    finally:
        con.close()
    return out


_ID_COLUMNS = {
    "pmsi": (("PATIENTS", "patient_id"),),
    "snds": (("IR_BEN_R", "BEN_NIR_PSA"), ("IR_BEN_R", "NUM_ENQ")),
    "omop": (("PERSON", "person_source_value"),),
}


def _id_source(folder: str | Path, source: str | None):
    """(relation SQL, target, column) of the patients' identifiers in the data, or None."""
    root = Path(folder)
    try:
        name = resolve_source(root, source)
        tables = list_tables(root)
    except DataSchemaError:
        return None
    con = duckdb.connect()
    try:
        for key, col in _ID_COLUMNS[name]:
            tf = tables.get(key)
            if tf is None:
                continue
            try:  # the first table and column that can be read (as before: a readable column wins)
                con.execute(f'SELECT CAST("{col}" AS VARCHAR) FROM {_relation(tf)} LIMIT 0', [_target(tf)])
            except duckdb.Error:
                continue
            return _relation(tf), _target(tf), col
    finally:
        con.close()
    return None


def identifiers(folder: str | Path, source: str | None = None) -> list[str]:
    """The patients' identifiers in the data (strings of at least 8 characters), for the output scan."""
    found = _id_source(folder, source)
    if found is None:
        return []
    relation, target, col = found
    con = duckdb.connect()
    try:
        rows = con.execute(f'SELECT DISTINCT CAST("{col}" AS VARCHAR) FROM {relation}', [target]).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows if r[0] is not None and len(r[0]) >= MIN_IDENTIFIER_LENGTH]


def identifier_matcher(folder: str | Path, source: str | None = None):
    """A function ``tokens -> the tokens that are patient identifiers of the data``, for the output scan.

    Same identifiers as :func:`identifiers`, but the few thousand tokens of the outputs are joined with
    the identifier column inside DuckDB: no identifier is loaded into Python (3.9 M patients: well
    under a second instead of ~10 s for the list of strings).
    """
    found = _id_source(folder, source)

    def match(tokens: set[str]) -> set[str]:
        if found is None or not tokens:
            return set()
        relation, target, col = found
        con = duckdb.connect()
        try:
            con.execute("CREATE TEMP TABLE tokens(t VARCHAR)")
            con.executemany("INSERT INTO tokens VALUES (?)", [[t] for t in sorted(tokens)])
            rows = con.execute(
                f'SELECT DISTINCT t FROM tokens SEMI JOIN (SELECT CAST("{col}" AS VARCHAR) AS id FROM '
                f"{relation}) p ON tokens.t = p.id AND length(p.id) >= {MIN_IDENTIFIER_LENGTH}", [target]
            ).fetchall()
        finally:
            con.close()
        return {r[0] for r in rows}

    return match
