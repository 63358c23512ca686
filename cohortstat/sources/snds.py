"""The ``snds`` source: the SNDS PMSI-MCO tables as the SNDS names them, and ``IR_BEN_R``.

Per year ``aa``: ``T_MCOaaB`` (stay summary, one row per RSA), ``T_MCOaaC`` (chaining: patient key,
dates, return codes), ``T_MCOaaD`` (associated diagnoses), ``T_MCOaaUM`` (medical units, their own
DP/DR); and the beneficiary table ``IR_BEN_R``. Each as parquet, a folder of parquet parts, or a
``;``-separated CSV. A stay is (``ETA_NUM``, ``RSA_NUM``) within its year; its ``stay_id`` is
``ETA_NUM:RSA_NUM:aa``. The mapping, every column used and every cleaning rule are in
data_schemas/snds.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt

from cohortstat.errors import DataSchemaError
from cohortstat.sources import snds_rules as R
from cohortstat.sources.base import CleaningRule, Relations, SourceAnomaly
from cohortstat.sources.deaths import read_deaths
from cohortstat.sources.files import (as_key, day, list_tables, parse_date, read_table, require, strip,
                                      year_of_day)

_YEAR_TABLE = re.compile(r"T_MCO(\d{2})(B|C|D|UM)")
_HINT = "See data_schemas/snds.md for the columns of each SNDS table."


def years_found(tables) -> dict[int, dict[str, object]]:
    """Year (4 digits) -> {kind: TableFile} of the T_MCOaa tables in a folder listing."""
    years: dict[int, dict[str, object]] = {}
    for name, tf in tables.items():
        m = _YEAR_TABLE.fullmatch(name)
        if m:
            years.setdefault(2000 + int(m.group(1)), {})[m.group(2)] = tf
    return dict(sorted(years.items()))


def _pick(t: ibis.Table, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in t.columns), None)


#: the whitespace that ``strip()`` removes (DuckDB and Spark alike)
_WS = "[ \\t\\n\\r\\x0B\\x0C]"


def _code(col: ibis.Column) -> ibis.Column:
    """An ICD-10 code as stored, trailing '+' and spaces of some years trimmed; empty -> null.

    That is: a trailing run of '+' and whitespace (``[+\\s]+$``) removed, then leading and trailing
    whitespace. The regular expressions only run on the codes they could change (a few, in the years
    that pad codes): those whose first character sorts at or before the space or whose last sorts
    before '0' ('+' and every whitespace character do, byte-wise, on every engine).
    """
    s = col.cast(dt.string)
    clean = (s.substr(0, 1) > " ") & (s.right(1) >= "0")
    trimmed = s.re_replace(r"[+\s]+$", "").re_replace(f"^{_WS}+|{_WS}+$", "")
    # a clean code is not empty: only a trimmed one can become null
    return ibis.ifelse(clean, s, trimmed.nullif(""))


def _key(eta: ibis.Column, rsa: ibis.Column, year) -> ibis.Column:
    """The stay key ``ETA_NUM:RSA_NUM:aa`` (``year`` a 4-digit int or an int64 column)."""
    if isinstance(year, int):
        return eta + ":" + rsa + f":{year % 100:02d}"
    return eta + ":" + rsa + ":" + (year % 100).cast(dt.string).lpad(2, "0")


def _dates(engine, c: ibis.Table, year: int, where: str):
    """(admission date, discharge date, estimated flag) columns of the joined B + C table ``c``."""
    for start, end in (("EXE_SOI_DTD", "EXE_SOI_DTF"), ("ENT_DAT", "SOR_DAT")):
        if start in c.columns and end in c.columns:
            return parse_date(engine, c, start, where), parse_date(engine, c, end, where), False
    if all(x in c.columns for x in ("SOR_ANN", "SOR_MOI", "SEJ_NBJ")):
        # no day-level dates in this year's files: discharge on the 1st of the discharge month,
        # admission SEJ_NBJ days before (documented; counted as estimated_dates by the data checks)
        y = c.SOR_ANN.cast(dt.string).strip().cast(dt.int64)
        m = c.SOR_MOI.cast(dt.string).strip().cast(dt.int64)
        ok = y.between(1900, 2100) & m.between(1, 12)
        dis = ibis.ifelse(ok, ibis.date(ibis.ifelse(ok, y, 1970), ibis.ifelse(ok, m, 1), 1), ibis.null(dt.date))
        nbj = c.SEJ_NBJ.cast(dt.string).strip().cast(dt.int64).fill_null(0)
        adm = ibis.ifelse(ok, (day(dis) - nbj), ibis.null(dt.int64))
        return adm, dis, True
    raise DataSchemaError(
        f"{where}: no stay dates - expected EXE_SOI_DTD and EXE_SOI_DTF, or ENT_DAT and SOR_DAT "
        f"(T_MCO{year % 100:02d}C), or SOR_ANN, SOR_MOI and SEJ_NBJ. {_HINT}"
    )


def _year_stays(engine, year: int, files: dict, cleaning) -> tuple[ibis.Table, dict, bool]:
    """The stays of one year (B joined to C, with rule flags), its diagnosis relations, and whether
    its stay dates are estimated.

    The diagnosis relations (role -> tables) are keyed by ``eta`` and ``rsa`` (short strings); the
    stay key is built only for the de-duplicated diagnoses (:func:`_year_diagnoses`).
    """
    aa = f"{year % 100:02d}"
    for kind in ("B", "C"):
        if kind not in files:
            raise DataSchemaError(
                f"year {year} has no table T_MCO{aa}{kind}: every year needs T_MCO{aa}B and T_MCO{aa}C "
                f"(and usually T_MCO{aa}D, T_MCO{aa}UM). {_HINT}"
            )
    b = read_table(engine, files["B"], upper=True)
    c = read_table(engine, files["C"], upper=True)
    wb, wc = f"T_MCO{aa}B ({files['B'].path.name})", f"T_MCO{aa}C ({files['C'].path.name})"
    require(b, ("ETA_NUM", "RSA_NUM", "DGN_PAL", "DGN_REL", "SOR_MOD", "GRG_GHM"), wb, _HINT)
    require(c, ("ETA_NUM", "RSA_NUM"), wc, _HINT)
    key = _pick(c, ("NIR_ANO_17", "NUM_ENQ"))
    if key is None:
        raise DataSchemaError(f"{wc} has no patient key: expected NIR_ANO_17 (or NUM_ENQ). {_HINT}")
    if R.enabled(cleaning, "return_codes"):
        require(c, R.RETURN_CODES, wc, _HINT + " Or switch the rule off: data_cleaning.snds.return_codes: false.")
    cc = c.rename({"C_ETA": "ETA_NUM", "C_RSA": "RSA_NUM"})
    j = b.join(cc, (b.ETA_NUM == cc.C_ETA) & (b.RSA_NUM == cc.C_RSA), how="inner", lname="", rname="{name}_c")
    adm, dis, estimated = _dates(engine, j, year, f"{wc} / {wb}")
    adm_day = adm if adm.type().is_integer() else day(adm)
    ret = ibis.literal(False)
    if R.enabled(cleaning, "return_codes"):
        for col in R.RETURN_CODES:
            v = strip(j[col].cast(dt.string))
            ret = ret | (v.notnull() & (v != "0") & (v != ""))
    ghm = strip(j.GRG_GHM.cast(dt.string))
    mode = strip(j.SOR_MOD.cast(dt.string))
    eta = as_key(j.ETA_NUM)
    stays = j.select(
        eta=eta,
        rsa=as_key(j.RSA_NUM),
        year=ibis.literal(year, dt.int64),
        patient_id=as_key(j[key]),
        adm=adm_day.cast(dt.int64),
        dis=day(dis),
        discharge_mode=ibis.cases(*[(mode == k, v) for k, v in R.SOR_MOD.items()], else_="other"),
        f_ghm=ghm.fill_null("").startswith("90"),
        f_ret=ret,
        f_finess=eta.isin(list(R.DUPLICATE_FINESS)) if year <= R.DUPLICATE_FINESS_LAST_YEAR else ibis.literal(False),
    )
    diags = {"principal": [_diag(b, "DGN_PAL")], "related": [_diag(b, "DGN_REL")], "associated": []}
    if "D" in files:
        d = read_table(engine, files["D"], upper=True)
        require(d, ("ETA_NUM", "RSA_NUM", "ASS_DGN"), f"T_MCO{aa}D ({files['D'].path.name})", _HINT)
        diags["associated"].append(_diag(d, "ASS_DGN"))
    if "UM" in files:
        u = read_table(engine, files["UM"], upper=True)
        require(u, ("ETA_NUM", "RSA_NUM", "DGN_PAL", "DGN_REL"), f"T_MCO{aa}UM ({files['UM'].path.name})", _HINT)
        diags["principal"].append(_diag(u, "DGN_PAL"))
        diags["related"].append(_diag(u, "DGN_REL"))
    return stays, diags, estimated


def _diag(t: ibis.Table, column: str) -> ibis.Table:
    return t.select(eta=as_key(t.ETA_NUM), rsa=as_key(t.RSA_NUM), icd10_code=_code(t[column]))


def _year_diagnoses(year: int, parts: dict[str, list[ibis.Table]]) -> list[ibis.Table]:
    """One year's diagnoses, de-duplicated per role within the year (a stay key belongs to one year
    and the role is a constant of each part: smaller keys to compare), then keyed."""
    out = []
    for role, tables in parts.items():
        if tables:
            d = ibis.union(*tables, distinct=False) if len(tables) > 1 else tables[0]
            d = d.filter(d.icd10_code.notnull()).distinct()
            out.append(d.select(stay_id=_key(d.eta, d.rsa, year), icd10_code=d.icd10_code, role=ibis.literal(role)))
    return out


def _patients(engine, tables, folder: Path) -> ibis.Table:
    tf = tables.get("IR_BEN_R")
    if tf is None:
        raise DataSchemaError(
            f"SNDS folder {folder} has no IR_BEN_R table (beneficiaries: birth year, sex, date of death): "
            "add IR_BEN_R.parquet, an IR_BEN_R/ folder of parquet parts or IR_BEN_R.csv. " + _HINT
        )
    b = read_table(engine, tf, upper=True)
    where = f"IR_BEN_R ({tf.path.name})"
    key = _pick(b, ("BEN_NIR_PSA", "NUM_ENQ"))
    if key is None:
        raise DataSchemaError(f"{where} has no patient key: expected BEN_NIR_PSA (or NUM_ENQ). {_HINT}")
    require(b, ("BEN_NAI_ANN", "BEN_SEX_COD"), where, _HINT)
    birth = b.BEN_NAI_ANN.cast(dt.string).strip().cast(dt.int64)
    sex = b.BEN_SEX_COD.cast(dt.string).strip().cast(dt.int64)
    if "BEN_DCD_DTE" in b.columns:
        dd = parse_date(engine, b, "BEN_DCD_DTE", where)
        # the SNDS writes 1600-01-01 (and other far past dates) for "no death recorded"
        death = ibis.ifelse(dd.year() >= 1900, day(dd), ibis.null(dt.int64))
    else:
        death = ibis.null(dt.int64)
    return b.select(
        patient_id=as_key(b[key]),
        birth_year=ibis.ifelse(birth.between(1800, 2100), birth, ibis.null(dt.int64)),
        sex=sex,
        death_day=death,
        end_day=ibis.null(dt.int64),
    )


#: the columns of a stay carried through the cleaning rules
_STAY_COLS = ("eta", "rsa", "year", "patient_id", "adm", "dis", "discharge_mode")


def _marks(all_stays: ibis.Table, cleaning) -> tuple[ibis.Table, list[str]]:
    """Every stay with ``_keep`` (no enabled flag rule removes it) and ``r_<rule>`` (the first rule that does)."""
    t = all_stays
    keep = ibis.literal(True)
    marks = {}
    for rule, flag in (("ghm_error", "f_ghm"), ("return_codes", "f_ret"), ("duplicate_finess", "f_finess")):
        if R.enabled(cleaning, rule):
            marks[f"r_{rule}"] = keep & t[flag]
            keep = keep & ~t[flag]
    return t.select(*_STAY_COLS, _keep=keep, _h=(t.eta + ":" + t.rsa).hash(), **marks), [m[2:] for m in marks]


def _without_copies(engine, marked: ibis.Table) -> tuple[ibis.Table, ibis.Table]:
    """The kept stays without the later copies of an RSA, and the ranked copies (``_copy`` > 0: removed).

    Copies of one RSA (same ETA_NUM, RSA_NUM, patient and dates) among the stays the other rules
    keep: the earliest year's is kept. Only the stays whose (ETA_NUM, RSA_NUM) is kept more than
    once are ranked (few: most RSAs are in one year file); the others are kept as they are. They
    are found by ``_h``, a hash of the pair (one integer to count by): a hash shared by different
    pairs only adds stays to the ranking, which compares the pairs themselves.
    """
    kept = marked.filter(marked._keep)
    multi = kept.aggregate(by="_h", _n=kept.count())
    # stored: a small table, so that the engine joins the stays to it (not the other way round)
    multi = engine.materialize(multi.filter(multi._n > 1).select("_h"), "snds_multi")
    cand = kept.semi_join(multi, "_h")
    w = ibis.window(group_by=[cand.eta, cand.rsa, cand.patient_id, cand.adm, cand.dis], order_by=[cand.year])
    ranked = engine.materialize(cand.mutate(_copy=ibis.row_number().over(w)), "snds_copies")
    single = kept.anti_join(multi, "_h")
    first = ranked.filter(ranked._copy == 0)
    return ibis.union(single.select(*_STAY_COLS), first.select(*_STAY_COLS), distinct=False), ranked


def _kept_stays(engine, all_stays: ibis.Table, cleaning) -> tuple[ibis.Table, list[tuple[str, int]]]:
    """The stays kept after the enabled rules (materialised, the builder's columns), and (rule,
    removed) in the order the rules apply.

    The rule marks of every stay are stored once, narrow (no stay key: it is built for the kept
    stays only); the counts are read from them in one pass, then the marks are released.
    """
    marked, rules = _marks(all_stays, cleaning)
    marked = engine.materialize(marked, "snds_rules")
    kept = marked.filter(marked._keep)
    ranked = None
    if R.enabled(cleaning, "duplicate_rsa"):
        kept, ranked = _without_copies(engine, marked)
    stays = engine.materialize(
        kept.select(stay_id=_key(kept.eta, kept.rsa, kept.year), patient_id=kept.patient_id, adm=kept.adm,
                    dis=kept.dis, adm_year=year_of_day(kept.adm), discharge_mode=kept.discharge_mode),
        "stays")
    counts = {}
    if rules:
        row = engine.to_pandas(marked.aggregate(**{r: marked[f"r_{r}"].cast(dt.int64).sum() for r in rules}))
        counts = {r: row[r].iloc[0] for r in rules}
    if ranked is not None:
        counts["duplicate_rsa"] = engine.to_pandas(
            ranked.aggregate(n=(ranked._copy > 0).cast(dt.int64).sum()))["n"].iloc[0]
    engine.release(marked)
    removed = [(r, 0 if n is None or n != n else int(n)) for r, n in counts.items()]
    return stays, removed


def relations(engine, folder: Path, cleaning=None, years_needed=None) -> Relations:
    """The builder's relations from an SNDS folder.

    Parameters
    ----------
    engine : the :class:`~cohortstat.engines.Engine` to register the tables on.
    folder : the folder holding T_MCOaaB/C/D/UM and IR_BEN_R.
    cleaning : the study's ``data_cleaning.snds`` settings (None: every rule on).
    years_needed : years the study needs (an error names those without T_MCOaa tables).
    """
    folder = Path(folder)
    tables = list_tables(folder)
    years = years_found(tables)
    if not years:
        raise DataSchemaError(f"SNDS folder {folder} has no T_MCOaaB / T_MCOaaC table. {_HINT}")
    if years_needed:
        missing = sorted(set(years_needed) - set(years))
        if missing:
            raise DataSchemaError(
                f"SNDS folder {folder} lacks the PMSI-MCO year(s) {', '.join(map(str, missing))} that the "
                f"study period and follow-up need (found: {', '.join(map(str, years))}); add "
                + ", ".join(f"T_MCO{y % 100:02d}B/C/D/UM" for y in missing) + " or shorten the study period"
            )
    patients = _patients(engine, tables, folder)
    parts = {y: _year_stays(engine, y, files, cleaning) for y, files in years.items()}
    year_stays = [p[0] for p in parts.values()]
    all_stays = ibis.union(*year_stays) if len(year_stays) > 1 else year_stays[0]
    stays, removed = _kept_stays(engine, all_stays, cleaning)
    # not materialised here: the builder and the data checks materialise ``diagnoses`` once
    diags = [d for y, p in parts.items() for d in _year_diagnoses(y, p[1])]
    diags = ibis.union(*diags, distinct=False) if len(diags) > 1 else diags[0]
    diagnoses = diags.semi_join(stays.select("stay_id"), "stay_id")
    rules = tuple(
        CleaningRule(name, *R.RULES[name], removed=_literal(dict(removed).get(name)),
                     enabled=R.enabled(cleaning, name))
        for name in R.RULES
    )
    estimated = [y for y, p in parts.items() if p[2]]
    anomalies = _anomalies(stays, patients, years, estimated)
    return Relations(patients=patients, stays=stays, diagnoses=diagnoses,
                     deaths=read_deaths(engine, folder, tables), source="snds",
                     cleaning=rules, anomalies=anomalies, materialize=True)


def _literal(n: int | None):
    return None if n is None else ibis.literal(n, dt.int64)


def _anomalies(kept, patients, years, estimated) -> tuple[SourceAnomaly, ...]:
    found = sorted(years)
    gaps = [y for y in range(found[0], found[-1] + 1) if y not in years]
    no_d = [y for y, f in years.items() if "D" not in f]
    unknown = kept.anti_join(patients.select("patient_id"), "patient_id")
    # the stays of the years without day-level dates (their key ends with the year, ``:aa``)
    suffixes = [f":{y % 100:02d}" for y in estimated]
    est = kept.filter(kept.stay_id.right(3).isin(suffixes) if suffixes else ibis.literal(False))
    out = [
        SourceAnomaly("missing_year", "T_MCOaa", "error",
                      "a year between the first and last PMSI-MCO year found has no T_MCOaa tables",
                      ibis.literal(len(gaps)), tuple(str(y) for y in gaps)),
        SourceAnomaly("missing_d_table", "T_MCOaaD", "warning",
                      "a year has no T_MCOaaD table (associated diagnoses of that year are missing)",
                      ibis.literal(len(no_d)), tuple(str(y) for y in no_d)),
        SourceAnomaly("unknown_patient_key", "T_MCOaaC", "warning",
                      "a stay's NIR_ANO_17 (or NUM_ENQ) is not in IR_BEN_R (no birth year, sex, death)",
                      unknown.count(), unknown.patient_id),
        SourceAnomaly("estimated_dates", "T_MCOaaC", "warning",
                      "stay dates estimated from SOR_ANN/SOR_MOI and SEJ_NBJ (no EXE_SOI_DTD or ENT_DAT)",
                      est.count(), est.stay_id),
    ]
    return tuple(out)
