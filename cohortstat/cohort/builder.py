"""``build_cohort``: study + data folder -> analysis table, attrition and notes.

Orchestrates the engine-agnostic steps of :mod:`cohortstat.cohort.pipeline` on the chosen engine,
materialising after each step and counting persons per group for the attrition table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from cohortstat.cohort import charlson, pipeline
from cohortstat.cohort.concepts import code_map, concept_frame, occurrences
from cohortstat.engines import Engine, release_arrow_memory
from cohortstat.cohort.inputs import load_inputs, study_years
from cohortstat.constants import BIRTH_YEAR_STEP
from cohortstat.sources.deaths import credible_deaths, merge_deaths
from cohortstat.errors import CohortError, CohortWarning, DataSchemaError
from cohortstat.spec.checks import NEGATIVE_CONTROL_PREFIX
from cohortstat.spec.variants import with_negative_controls

_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class Cohort:
    """The analysis table of a study, its attrition and notes on what happened to the data.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per patient (columns: docs/cohort-semantics.md, BRIEF "Cohort" contract).
    attrition : pandas.DataFrame
        ``step, rule_id, description, n_<exposed>, n_<reference>, excluded_<exposed>,
        excluded_<reference>``.
    notes : tuple of str
        What happened to the data (the source's cleaning counts and deaths by source first, then
        prevalent cases per outcome, groups without events, ...).
    engine : str
        The engine that built the table.
    source : str
        The data layout read (``pmsi``, ``snds``, ``omop``).
    data_notes : tuple of str
        What the source's cleaning rules removed, deaths by source (data-level counts, for the
        report's data notes).
    """

    table: pd.DataFrame
    attrition: pd.DataFrame
    notes: tuple[str, ...]
    engine: str = "duckdb"
    source: str = "pmsi"
    data_notes: tuple[str, ...] = ()

    def to_parquet(self, path: str | Path) -> Path:
        """Write the analysis table to ``path`` (parquet; dates as date32). Returns the path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(self.table, preserve_index=False)
        for col in ("index_admission", "index_discharge", "follow_up_start"):
            i = table.schema.get_field_index(col)
            table = table.set_column(i, col, table.column(col).cast(pa.date32()))
        pq.write_table(table, path)
        return path


class _Progress:
    """Calls ``progress(step, total, message)`` or shows a rich progress bar (``progress=True``)."""

    def __init__(self, progress, total: int):
        self.total = total
        self.i = 0
        self._callback = progress if callable(progress) else None
        self._rich = None
        if progress is True:
            from rich.progress import Progress

            self._rich = Progress(transient=False)
            self._rich.start()
            self._task = self._rich.add_task("building cohort", total=total)

    def __call__(self, message: str) -> None:
        self.i += 1
        if self._callback is not None:
            self._callback(self.i, self.total, message)
        if self._rich is not None:
            self._rich.update(self._task, advance=1, description=message)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()


def _used_concepts(study) -> set[str]:
    names: set[str] = set()
    for key in (study.comparison.exposed, study.comparison.reference):
        names |= set(study.cohorts[key].entry.concept_sets)
    for rule in study.inclusion:
        if rule.rule == "no_prior_concept":
            names.add(rule.concept_set)
    names |= {o.concept_set for o in study.outcomes.values()}
    names |= {f.concept_set for f in _covariates(study).flags}
    return names


def _used_roles(study) -> dict[str, str]:
    """role -> first place in the study that uses it."""
    where: dict[str, str] = {}
    for key in (study.comparison.exposed, study.comparison.reference):
        for r in study.cohorts[key].entry.roles:
            where.setdefault(r, f"cohorts.{key}.entry.roles")
    for i, rule in enumerate(study.inclusion):
        if rule.rule == "no_prior_concept":
            for r in rule.roles:
                where.setdefault(r, f"inclusion[{i}].roles")
    for name, o in study.outcomes.items():
        for r in o.roles:
            where.setdefault(r, f"outcomes.{name}.roles")
    for i, f in enumerate(study.covariates.flags):
        for r in f.roles:
            where.setdefault(r, f"covariates.flags[{i}].roles")
    for i, f in enumerate(_covariates(study).flags[len(study.covariates.flags):]):
        for r in f.roles:
            where.setdefault(r, f"analyses.confounding.covariates.flags[{i}].roles")
    return where


def _covariates(study):
    """The covariates the cohort builds: the study's and the propensity model's own."""
    return study.covariates.merged(study.analyses.confounding.covariates)


def _days_to_dates(values: pd.Series) -> pd.Series:
    return pd.Series(
        (_EPOCH + values.to_numpy(dtype="int64").astype("timedelta64[D]")).astype("datetime64[ns]"),
        index=values.index,
    )


def output_columns(study) -> list[str]:
    """The analysis-table columns of a study, in order."""
    cols = ["person_key", "group", "exposure", "index_admission", "index_discharge",
            "follow_up_start"]
    cov = _covariates(study)
    cols += [c for c, on in (("age", cov.age), ("sex", cov.sex), ("calendar_year", cov.calendar_year))
             if on]
    if cov.charlson:
        cols += ["charlson"] + [f"cci_{k}" for k in charlson.COMPONENTS]
    if cov.prior_stays:
        cols.append("prior_stays")
    cols += [f.name for f in cov.flags]
    for name in study.outcomes:
        cols += [f"time_{name}", f"event_{name}"]
    return cols


def build_cohort(
    study,
    data: str | Path,
    engine: str = "duckdb",
    threads: int | None = None,
    progress: bool | Callable[[int, int, str], None] | None = None,
    out: str | Path | None = None,
    *,
    source: str | None = None,
    memory_limit: str | None = None,
    verbose: bool = False,
    spark_master: str | None = None,
) -> Cohort:
    """Build the analysis table and attrition of ``study`` from the data folder ``data``.

    Parameters
    ----------
    study : cohortstat.spec.Study
        A validated study.
    data : path
        Folder with patients.parquet, stays.parquet, diagnoses.parquet.
    engine : {"duckdb", "spark"}
        Execution engine (a run setting; the result does not depend on it).
    threads : int, optional
        Threads (DuckDB) or local cores (Spark); default all cores.
    progress : bool or callable, optional
        ``True``: a rich progress bar; a callable receives ``(step, total, message)`` per step.
    out : path, optional
        Also write the analysis table to this parquet file.
    source : {"pmsi", "snds", "omop"}, optional
        The data layout; detected from the folder's contents when omitted
        (:func:`cohortstat.sources.detect_source`).
    memory_limit : str, optional
        ``8GB``, ``512MiB``: DuckDB's memory limit (it spills to disk beyond it) or Spark's driver
        memory (a new session only). Default: ``COHORTSTAT_DUCKDB_MEMORY_LIMIT`` /
        ``COHORTSTAT_SPARK_DRIVER_MEMORY`` when set, else 4 GB (docs/engines.md).
    verbose : bool
        Spark: show Spark's own log output on stderr (default: errors only).
    spark_master : str, optional
        Spark: the master of a new session, ``local[N]``, ``local[*]``, ``local-cluster[W,C,MB]`` or
        ``spark://host:port`` (a standalone cluster). Default ``local[threads]``. A run setting like
        ``threads``: the result does not depend on it.

    Returns
    -------
    Cohort
        Frozen: ``table``, ``attrition``, ``notes``.

    Raises
    ------
    DataSchemaError
        A table, column or diagnosis role the study needs is missing from the data.
    CohortError
        A step left a group without patients (the message names the step).
    """
    study = with_negative_controls(study)  # their time_/event_ columns, for analyze(); idempotent
    tick = _Progress(progress, 5)
    eng = Engine.create(engine, threads=threads, memory_limit=memory_limit, verbose=verbose,
                        spark_master=spark_master)
    try:
        inputs, patients, bad_codes, data_notes = _prepared_inputs(eng, study, Path(data), source)
        lookback = lookback_notes(study, _first_discharge(eng, inputs.stays))
        tick("inputs checked")
        _check_roles(eng, study, inputs.diagnoses)
        frame = concept_frame(study, _used_concepts(study), bool(_covariates(study).charlson))
        occ = occurrences(eng, inputs, code_map(eng, inputs.diagnoses, frame))
        tick("diagnoses matched to concept sets")
        base = eng.materialize(_index_stays(study, occ, inputs.stays, patients), "index")
        tick("index stays found")
        c, rows = _included(eng, study, base, occ, bad_codes)
        tick("inclusion rules and follow-up applied")
        raw = _collected(eng, c, _analysis_columns(study, c, occ, inputs.stays))
        tick("outcomes and covariates, analysis table collected")
    finally:
        eng.close()
        tick.close()

    table, notes = _finish(study, raw)
    del raw
    release_arrow_memory()  # the collected columns were reordered into new arrays
    cohort = Cohort(table=table, attrition=pd.DataFrame(rows), notes=data_notes + lookback + notes, engine=engine,
                    source=inputs.source, data_notes=data_notes)
    if out is not None:
        cohort.to_parquet(out)
    return cohort


def _first_discharge(eng: Engine, stays: ibis.Table):
    """Day number of the earliest discharge in the data (None when no stay has one)."""
    return eng.to_pandas(stays.aggregate(first=stays.dis.min()))["first"].iloc[0]


def _lookbacks(study) -> list[tuple[str, int]]:
    """(what, days) of every lookback window of the study: exclusion rules, flags, Charlson."""
    out = [(f"inclusion rule {r.id}", int(r.lookback_days)) for r in study.inclusion
           if r.rule == "no_prior_concept"]
    out += [(f"covariate {f.name}", int(f.lookback_days)) for f in study.covariates.flags]
    if study.covariates.charlson:
        out.append(("the Charlson index", charlson.DEFAULT_LOOKBACK_DAYS))
    return out


def lookback_notes(study, first_discharge_day) -> tuple[str, ...]:
    """A note when the data begin after the start of a lookback window of the earliest index stays.

    Hospital data are delivered by discharge year: the data are taken to cover stays from 1 January of
    the year of their first discharge (``first_discharge_day``, a day number). A lookback reaching before
    that day is truncated for the patients indexed early in the study period. Stays before the study
    period are otherwise used by every lookback window.
    """
    if first_discharge_day is None or pd.isna(first_discharge_day):
        return ()
    first = (_EPOCH + np.timedelta64(int(first_discharge_day), "D")).astype(object)
    covered = dt.date(first.year, 1, 1)
    short = [(what, days) for what, days in _lookbacks(study)
             if study.study_period.start - dt.timedelta(days=days) < covered]
    if not short:
        return ()
    # the note names a month and years, never a day number (digits in notes are read as counts)
    rules = "; ".join(f"{what} looks back {days} days" for what, days in short)
    return (f"lookback truncated by the data: first stay discharged in {first:%B %Y} (the data are taken to "
            f"cover whole years from {covered.year}), while the study period starts in {study.study_period.start:%B %Y} "
            f"and {rules}: patients indexed early in the study period have a shorter lookback.",)


def _prepared_inputs(eng: Engine, study, data: Path, source):
    """The source's relations (materialised when the source asks), checked; patients with linked deaths."""
    inputs = load_inputs(eng, data, source=source, cleaning=_cleaning(study, source, data),
                         years_needed=study_years(study))
    if inputs.materialize:
        inputs = dataclasses.replace(
            inputs, stays=eng.materialize(inputs.stays, "stays"),
            diagnoses=eng.materialize(inputs.diagnoses, "diagnoses"),
            patients=eng.materialize(inputs.patients, "patients"))
    _check_not_empty(eng, inputs, data)
    bad_codes = _malformed_codes(eng, inputs.diagnoses, data)
    patients = merge_deaths(inputs.patients, inputs.deaths, inputs.stays)
    return inputs, patients, bad_codes, _data_notes(eng, inputs)


def _check_roles(eng: Engine, study, diagnoses: ibis.Table) -> None:
    """Every diagnosis role the study uses is present in the data."""
    present = set(eng.to_pandas(diagnoses.select("role").distinct())["role"].dropna())
    for role, where in _used_roles(study).items():
        if role not in present:
            raise DataSchemaError(
                f"the data have no diagnosis with role {role!r}, used at {where}; roles in the "
                f"data: {', '.join(sorted(present)) or 'none'}. Fix the study roles or the data."
            )


def _index_stays(study, occ: ibis.Table, stays: ibis.Table, patients: ibis.Table) -> ibis.Table:
    """Each group's first qualifying stay, patients in both groups marked, patient data attached."""
    exposed = study.comparison.exposed
    groups = (exposed, study.comparison.reference)
    idx = [pipeline.entry_events(occ, stays, g, study.cohorts[g].entry, study.study_period) for g in groups]
    base = pipeline.mark_in_both(ibis.union(*idx), exposed, study.comparison.in_both)
    return pipeline.attach_patients(base, patients, stays, exposed)


def _included(eng: Engine, study, base: ibis.Table, occ: ibis.Table, bad_codes) -> tuple[ibis.Table, list]:
    """The inclusion rules and follow-up in order: the persons kept and the attrition rows."""
    checks = ["pass_in_both"]
    c = base
    for i, rule in enumerate(study.inclusion):
        checks += pipeline.rule_checks(rule, f"pass_rule_{i}")
        c = pipeline.rule_passes(c, rule, occ, study.follow_up.anchor, checks[-1])
    c = pipeline.follow_up(c, study.follow_up)
    checks.append("pass_follow_up")
    c = eng.materialize(pipeline.exit_step(c, checks, first_step=1), "steps")
    counts = eng.to_pandas(c.group_by("group", "exit_step").agg(n=c.count()))
    rows = _attrition(study, counts, bad_codes)
    return c.filter(c.exit_step.isnull()).drop("exit_step"), rows


def _analysis_columns(study, c: ibis.Table, occ: ibis.Table, stays: ibis.Table) -> ibis.Table:
    """Outcome and covariate columns of the persons kept (still keyed by ``patient_id``)."""
    competing = "death" in tuple(study.competing_events)
    c = pipeline.outcome_columns(c, occ, dict(study.outcomes), competing)
    return pipeline.covariate_columns(c, occ, _covariates(study), stays)


def _collected(eng: Engine, kept: ibis.Table, wide: ibis.Table) -> pd.DataFrame:
    """The analysis table ``wide`` in pandas, rows in ``person_key`` order; ``person_key`` (a
    study-local integer: 1, 2, ... exposed first, then by index admission, then by patient id)
    replaces ``patient_id``.

    The keys are numbered on the narrow ``kept`` table and the wide rows are put in key order here,
    one column at a time: DuckDB cannot spill a window or a sort over the whole wide table to disk.
    """
    keys = _person_keys(kept)
    joined = wide.join(keys, wide.patient_id == keys.kpid).drop("kpid")
    raw = eng.to_pandas(joined, drop=("patient_id",), large=True)
    order = np.argsort(raw["person_key"].to_numpy(), kind="stable")
    for col in raw.columns:
        raw[col] = raw[col].array.take(order)
    return raw


def _person_keys(c: ibis.Table) -> ibis.Table:
    """``kpid`` (the patient id) and ``person_key`` of each person of ``c`` (one row per person)."""
    k = c.select("patient_id", "exposure", "adm")
    order = ibis.row_number().over(order_by=[ibis.desc(k.exposure), k.adm, k.patient_id])
    return k.select(kpid=k.patient_id, person_key=(order + 1).cast("int64"))


def _cleaning(study, source, data):
    """The study's cleaning switches for the source of ``data`` (None: every rule on)."""
    settings = getattr(study, "data_cleaning", None)
    if settings is None:
        return None
    from cohortstat.sources import resolve_source

    name = resolve_source(Path(data), source)
    return getattr(settings, name, None)


def _data_notes(eng: Engine, inputs) -> tuple[str, ...]:
    """One line per cleaning rule (records removed) and deaths by source when a death file is linked."""
    notes = []
    for rule in inputs.cleaning:
        if rule.enabled and rule.removed is not None:
            n = int(eng.con.execute(rule.removed))
            notes.append(f"{inputs.source} cleaning rule {rule.name}: {rule.description}; {rule.unit} "
                         f"removed: {n}.")
        elif not rule.enabled:
            notes.append(f"{inputs.source} cleaning rule {rule.name} switched off in the study file.")
    if inputs.deaths is not None:
        notes.extend(_death_sources(eng, inputs))
    return tuple(notes)


def _death_sources(eng: Engine, inputs) -> list[str]:
    ok, rejected = credible_deaths(inputs.deaths, inputs.stays)
    own = inputs.patients.filter(inputs.patients.death_day.notnull()).select("patient_id")
    stay_deaths = inputs.stays.filter(inputs.stays.discharge_mode == "death").select("patient_id")
    hosp = ibis.union(own, stay_deaths).distinct().mutate(h=ibis.literal(1))
    file_ = ok.select("patient_id").distinct().mutate(f=ibis.literal(1))
    j = hosp.outer_join(file_, "patient_id")
    agg = j.aggregate(hospital_only=(j.h.notnull() & j.f.isnull()).sum(),
                      file_only=(j.h.isnull() & j.f.notnull()).sum(),
                      both=(j.h.notnull() & j.f.notnull()).sum())
    row = eng.to_pandas(agg).iloc[0].fillna(0).astype(int)
    n_rej = int(eng.con.execute(rejected.count()))
    notes = [f"deaths by source (patients of the data): recorded by the hospital data only "
             f"{row['hospital_only']}, by the death file only {row['file_only']}, by both {row['both']}."]
    if n_rej:
        notes.append(f"death file: {n_rej} date(s) before a recorded stay of the same patient were left "
                     "out as not credible (anomaly death_file_before_stay).")
    return notes


def _check_not_empty(eng: Engine, inputs, data) -> None:
    """A located error when the patients, stays or diagnoses relation of the data is empty."""
    for name in ("patients", "stays", "diagnoses"):
        if int(eng.con.execute(getattr(inputs, name).count())) == 0:
            raise DataSchemaError(
                f"the {name} of the data in {data} ({inputs.source} layout) are empty: no cohort can be "
                "built. Check that the export is complete (run `cohortstat check-data` on the folder)."
            )


def _malformed_codes(eng: Engine, diagnoses, data) -> tuple[str, ...]:
    """Up to 3 distinct codes not written as PMSI stores them; an error when no code is well formed."""
    from cohortstat.data.schema import ICD10_PATTERN

    codes = diagnoses.select("icd10_code").distinct()
    codes = codes.mutate(ok=codes.icd10_code.re_search(ICD10_PATTERN).fill_null(False))
    counts = eng.to_pandas(codes.group_by("ok").agg(n=codes.count()))
    n = dict(zip(counts["ok"].astype(bool), counts["n"].astype(int)))
    if not n.get(False):
        return ()
    bad = codes.filter(~codes.ok).select("icd10_code").order_by("icd10_code").limit(3)
    examples = tuple(str(v) for v in eng.to_pandas(bad)["icd10_code"])
    if not n.get(True):
        raise DataSchemaError(
            f"no diagnosis code of the data in {data} is written as cohortstat matches codes (e.g. "
            f"{', '.join(repr(e) for e in examples)}): codes must be upper case without dot, e.g. R572 "
            "for R57.2. Fix the codes in the data (check-data lists them as malformed_icd10_code)."
        )
    return examples


def _attrition(study, counts: pd.DataFrame, bad_codes: tuple[str, ...] = ()) -> list[dict]:
    """Attrition rows from the counts of (group, exit step); raise if a step empties a group."""
    exposed, reference = study.comparison.exposed, study.comparison.reference
    groups = (exposed, reference)
    period = study.study_period
    mode = study.comparison.in_both
    steps = [
        ("entry", f"First qualifying stay per patient admitted {period.start} to {period.end}"),
        ("in_both", {
            "exclude": "Patients with index stays in both groups excluded",
            "exposed": f"Patients with index stays in both groups kept in {exposed} only",
            "first_event": "Patients with index stays in both groups kept in the group of the "
                           "earlier index stay (same day: exposed)",
        }[mode]),
    ]
    for rule in study.inclusion:
        if rule.rule == "age_at_index":  # its first check, an attrition step of its own (pipeline.rule_checks)
            steps.append((f"{rule.id}{BIRTH_YEAR_STEP}", "Birth year known (age at index computable)"))
        steps.append((rule.id, rule.description))
    steps.append(("under_follow_up",
                  "Alive and under follow-up at the end of blanking (follow-up start)"))
    exit_at = counts["exit_step"].fillna(len(steps)).astype("int64")
    rows: list[dict] = []
    prev: dict[str, int] = {}
    for step, (rule_id, description) in enumerate(steps):
        row = {"step": step, "rule_id": rule_id, "description": description}
        n = {g: int(counts.loc[(counts["group"] == g) & (exit_at > step), "n"].sum())
             for g in groups}
        for g in groups:
            row[f"n_{g}"] = n[g]
        for g in groups:
            row[f"excluded_{g}"] = prev[g] - n[g] if prev else 0
        rows.append(row)
        prev = n
        empty = [g for g in groups if n[g] == 0]
        if empty:
            raise CohortError(
                f"step {step} ({f'{rule_id}: {description}' if description else rule_id}) left no patient in group "
                f"{', '.join(repr(g) for g in empty)}; check the concept sets, roles and study "
                "period of the study against the data (attrition so far: "
                + "; ".join(f"{r['rule_id']}: " + ", ".join(f"{g}={r[f'n_{g}']}" for g in groups)
                            for r in rows) + ")"
                + (f". The data also hold malformed diagnosis codes (e.g. {', '.join(map(repr, bad_codes))}) "
                   "that match no concept set: codes must be upper case without dot" if bad_codes else "")
            )
    return rows


def _finish(study, raw: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Dates from day numbers, fixed column order and types, person keys, notes."""
    t = raw
    t["index_admission"] = _days_to_dates(t["adm"])
    t["index_discharge"] = _days_to_dates(t["dis"])
    t["follow_up_start"] = _days_to_dates(t["fu_start"])
    cov = _covariates(study)
    if cov.age:
        age = t["adm_year"] - t["birth_year"]
        t["age"] = age.astype("int64") if age.notna().all() else age.astype("Int64")
    if cov.sex:
        t["sex"] = t["sex"].astype("int64") if t["sex"].notna().all() else t["sex"].astype("Int64")
    if cov.calendar_year:
        t["calendar_year"] = t["adm_year"].astype("int64")
    t["exposure"] = t["exposure"].astype("int64")
    t["group"] = t["group"].astype(str)
    t["person_key"] = t["person_key"].astype("int64")
    cols = output_columns(study)
    for col in cols:
        if col.startswith(("time_", "event_")):
            t[col] = t[col].astype("float64", copy=False)
        elif col.startswith("cci_") or col in {f.name for f in cov.flags} or col in ("charlson", "prior_stays"):
            t[col] = t[col].astype("int64", copy=False)
    # the columns in order (a dict of columns, not t[cols], which copies them once more), then one
    # block per dtype: the analyses take rows of this table as it is
    t = pd.DataFrame({c: t[c] for c in cols}, copy=False).copy()

    notes: list[str] = []
    if cov.charlson:
        notes.append(
            f"Charlson index (Quan 2005 ICD-10 coding, Charlson 1987 weights) from diagnoses in every "
            f"role of stays admitted from {charlson.DEFAULT_LOOKBACK_DAYS} days before the index "
            "admission to the index discharge, index stay included."
        )
    notes.extend(_outcome_notes(study, t, raw))
    return t, tuple(notes)


def _outcome_notes(study, t: pd.DataFrame, raw: pd.DataFrame) -> list[str]:
    """Per outcome: persons outside its population, persons not at risk, groups without events."""
    groups = (study.comparison.exposed, study.comparison.reference)
    group = t["group"].to_numpy()
    notes: list[str] = []
    for name, outcome in study.outcomes.items():
        ev = t[f"event_{name}"].to_numpy()
        inside = np.ones(len(t), dtype=bool)
        population = getattr(outcome, "population", None)
        if population is not None:
            inside = raw[pipeline.IN_POPULATION + name].to_numpy(dtype=bool)
            notes.extend(_population_notes(name, population, group, inside, groups))
        parts, zero = [], []
        for g in groups:
            mask = (group == g) & inside
            parts.append(f"{g} {int(np.isnan(ev[mask]).sum())}")
            if int((ev[mask] == 1).sum()) == 0:
                zero.append(g)
        notes.append(
            f"outcome {name}: not at risk (outcome on or before follow-up start: prevalent or "
            f"during blanking), time/event left empty: {', '.join(parts)}."
        )
        for g in zero:
            msg = f"outcome {name}: group {g!r} has no outcome event; estimates for it are not defined."
            notes.append(msg)
            if not name.startswith(NEGATIVE_CONTROL_PREFIX):  # a control without events: a note, not a warning
                warnings.warn(msg, CohortWarning, stacklevel=4)
    return notes


def _population_notes(name: str, population, group, inside, groups) -> list[str]:
    """The outcome's population and who is outside it (time/event left empty), per group."""
    who = population.describe()
    outside = ", ".join(f"{g} {int(((group == g) & ~inside).sum())}" for g in groups)
    notes = [f"outcome {name}: analysed in {who} only (its population); persons outside it, time/event "
             f"left empty: {outside}."]
    for g in groups:
        if not ((group == g) & inside).any():
            notes.append(f"outcome {name}: no {g} patient in its population ({who}); the groups are not "
                         "compared on it.")
    return notes


