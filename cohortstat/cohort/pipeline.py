"""The cohort logic, written once as Ibis expressions (engine-agnostic).

Each function takes Ibis tables and study settings and returns an Ibis expression; the builder
(:mod:`cohortstat.cohort.builder`) materialises the results and counts the attrition. Dates are day
numbers (:mod:`cohortstat.cohort.inputs`). The semantics are written down in docs/cohort-semantics.md.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dtypes

from cohortstat.cohort import charlson
from cohortstat.cohort.inputs import day_number
from cohortstat.constants import SEX_FEMALE, SEX_MALE

# -- index events --------------------------------------------------------------------------------


def entry_events(occ: ibis.Table, stays: ibis.Table, group: str, entry, period) -> ibis.Table:
    """First qualifying stay per patient for one group, admission date in the study period.

    Ties (two qualifying stays admitted the same day): the one discharged first, then the lower
    stay_id.
    """
    q = occ.filter(
        occ.concept_set.isin(list(entry.concept_sets)),
        occ.role.isin(list(entry.roles)),
        occ.adm >= day_number(period.start),
        occ.adm <= day_number(period.end),
    ).select("patient_id", "stay_id", "adm", "dis").distinct()
    rn = ibis.row_number().over(group_by=q.patient_id, order_by=[q.adm, q.dis, q.stay_id])
    first = q.mutate(rn=rn)
    first = first.filter(first.rn == 0).drop("rn")
    first = first.join(stays.select("stay_id", "adm_year", "discharge_mode"), "stay_id")
    return first.select("patient_id", "stay_id", "adm", "dis", "adm_year", "discharge_mode",
                        group=ibis.literal(group))


def mark_in_both(idx: ibis.Table, exposed: str, in_both: str) -> ibis.Table:
    """Add ``pass_in_both``: does this (patient, group) row survive ``comparison.in_both``?

    ``exclude``: patients indexed in both groups leave both. ``exposed``: they stay in the exposed
    group only. ``first_event``: they stay in the group whose index admission is earlier; a same-day
    tie goes to the exposed group.
    """
    is_ref = ibis.ifelse(idx["group"] == exposed, 0, 1)
    t = idx.mutate(
        n_groups=idx["group"].count().over(group_by=idx.patient_id),
        rank_=ibis.row_number().over(group_by=idx.patient_id, order_by=[idx.adm, is_ref]),
    )
    if in_both == "exclude":
        keep = t.n_groups == 1
    elif in_both == "exposed":
        keep = (t.n_groups == 1) | (t["group"] == exposed)
    else:  # first_event
        keep = t["rank_"] == 0
    return t.mutate(pass_in_both=keep).drop("n_groups", "rank_")


def attach_patients(idx: ibis.Table, patients: ibis.Table, stays: ibis.Table, exposed: str):
    """Join birth year, sex, the per-person end of data and the death day (earliest of the patient's
    death day - the source's own and a credible death-file date - and a death discharge)."""
    deaths = stays.filter(stays.discharge_mode == "death")
    deaths = deaths.group_by("patient_id").agg(death_stay=deaths.dis.min())
    p = patients.join(deaths, "patient_id", how="left")
    p = p.select(
        patient_id=p.patient_id,
        birth_year=p.birth_year,
        sex=p.sex,
        end_day=p.end_day,
        death=ibis.least(
            p.death_day.fill_null(2**31), p.death_stay.fill_null(2**31)
        ),
    )
    p = p.mutate(death=ibis.ifelse(p.death == 2**31, ibis.null(dtypes.int64), p.death))
    c = idx.join(p, "patient_id", how="left")
    return c.select(
        patient_id=idx.patient_id,
        group=idx["group"],
        exposure=ibis.ifelse(idx["group"] == exposed, 1, 0).cast(dtypes.int64),
        adm=idx.adm,
        dis=idx.dis,
        adm_year=idx.adm_year,
        discharge_mode=idx.discharge_mode,
        pass_in_both=idx.pass_in_both,
        birth_year=p.birth_year,
        sex=p.sex,
        end_day=p.end_day,
        death=p.death,
    )


# -- inclusion rules -----------------------------------------------------------------------------


def anchor_day(c: ibis.Table, anchor: str):
    """The follow-up anchor as a day number: index admission or index discharge."""
    return c.adm if anchor == "admission" else c.dis


def rule_passes(c: ibis.Table, rule, occ: ibis.Table, anchor: str, col: str) -> ibis.Table:
    """Add the boolean column ``col``: does the row pass one inclusion rule?

    Every rule is a predicate on one patient's own data, so rules can be evaluated side by side and
    the attrition read from the first rule each row fails (same counts as filtering in order).
    """
    kind = rule.rule
    if kind == "age_at_index":
        # two checks, so that the attrition counts an unknown birth year apart from an age out of range
        age = c.adm_year - c.birth_year
        keep = age >= int(rule.min_years)
        if rule.max_years is not None:
            keep = keep & (age <= int(rule.max_years))
        return c.mutate(**{birth_year_check(col): c.birth_year.notnull(), col: keep.fill_null(False)})
    if kind == "no_prior_concept":
        o = occ.filter(occ.concept_set == rule.concept_set, occ.role.isin(list(rule.roles)))
        o = o.select(pid=o.patient_id, day=o.adm)
        j = o.join(c.select(pid=c.patient_id, grp=c["group"], iadm=c.adm, idis=c.dis), "pid")
        # window of stay admission days: [index admission - lookback, index discharge] (index stay
        # included) or, for a washout, [index admission - lookback, index admission - 1]
        last = j.iadm - 1 if _window_end(rule) == "before_admission" else j.idis
        bad = j.filter(j.day >= j.iadm - int(rule.lookback_days), j.day <= last)
        bad = bad.select("pid", "grp").distinct().mutate(hit=ibis.literal(1))
        t = c.left_join(bad, (c.patient_id == bad.pid) & (c["group"] == bad.grp))
        return t.mutate(**{col: t.hit.isnull()}).drop("pid", "grp", "hit")
    if kind == "alive_at_discharge":
        died_in_stay = c.discharge_mode.fill_null("") == "death"
        keep = ~died_in_stay & (c.death.isnull() | (c.death > c.dis))
        return c.mutate(**{col: keep})
    if kind == "alive_at_landmark":
        landmark = anchor_day(c, anchor) + int(rule.days)
        return c.mutate(**{col: c.death.isnull() | (c.death > landmark)})
    raise ValueError(f"unknown inclusion rule {kind!r}")  # unreachable after spec validation


def birth_year_check(col: str) -> str:
    """The column of an age rule's first check (birth year known), written beside the rule's own ``col``."""
    return f"{col}_birth_year"


def rule_checks(rule, col: str) -> list[str]:
    """The check columns :func:`rule_passes` adds for ``rule``, in the order they are applied: an age rule
    first checks that the birth year is known (its own attrition step, ``<rule id>.birth_year``), then the
    age; every other rule has one check."""
    return [birth_year_check(col), col] if rule.rule == "age_at_index" else [col]


def _window_end(rule) -> str:
    """The rule's window end (``index_discharge`` for rules written before the choice existed)."""
    return getattr(rule, "window_end", "index_discharge")


# -- follow-up -----------------------------------------------------------------------------------


def follow_up(c: ibis.Table, fu) -> ibis.Table:
    """Add follow-up start, administrative end and ``pass_follow_up`` (alive and followed after
    blanking: death and administrative end both after follow-up start).

    The administrative end is the study's ``end_of_data``, or the person's own end of data when the
    source records one (OMOP ``observation_period``) and it is earlier.
    """
    start = anchor_day(c, fu.anchor) + int(fu.offset_days) + int(fu.blanking_days)
    eod = day_number(fu.end_of_data)
    t = c.mutate(fu_start=start.cast(dtypes.int64))
    admin_end = ibis.least(ibis.literal(eod, dtypes.int64), t.end_day.fill_null(eod))
    if fu.max_days is not None:
        admin_end = ibis.least(admin_end, t.fu_start + int(fu.max_days))
    t = t.mutate(admin_end=admin_end.cast(dtypes.int64))
    return t.mutate(
        pass_follow_up=(t.death.isnull() | (t.death > t.fu_start)) & (t.admin_end > t.fu_start)
    )


def exit_step(c: ibis.Table, checks: list[str], first_step: int) -> ibis.Table:
    """Add ``exit_step``: the step of the first failed check (``checks`` in order), null if none."""
    cases = [(~c[col], first_step + i) for i, col in enumerate(checks)]
    step = ibis.cases(*cases, else_=ibis.null(dtypes.int64))
    return c.mutate(exit_step=step.cast(dtypes.int64)).drop(*checks)


#: prefix of the internal 0/1 column "in the outcome's population" (study names cannot start with "_")
IN_POPULATION = "_in_population_"


def in_population(c: ibis.Table, population):
    """Boolean expression: is the row's person in the outcome population (sex, age at index)?

    Age at index is ``admission year - birth year``, as for ``age_at_index``. A person whose sex or
    birth year is unknown is outside a population that restricts it.
    """
    keep = ibis.literal(True)
    if population.sex is not None:
        keep = keep & (c.sex == (SEX_FEMALE if population.sex == "female" else SEX_MALE))
    age = c.adm_year - c.birth_year
    if population.min_age is not None:
        keep = keep & (age >= int(population.min_age))
    if population.max_age is not None:
        keep = keep & (age <= int(population.max_age))
    return keep.fill_null(False)


def outcome_columns(c: ibis.Table, occ: ibis.Table, outcomes: dict, competing: bool) -> ibis.Table:
    """Add ``time_<o>`` and ``event_<o>`` for every outcome.

    The first occurrence ever (any stay in the data, admission date) of the outcome concept set in
    the declared roles decides: on or before follow-up start -> not at risk (both NaN); after it
    and by the administrative end and not after death -> event 1 (death the same day: outcome
    counts); else death by the administrative end -> 2 (0 when death is not a competing event);
    else censored (0) at the administrative end.

    An outcome with a ``population`` is defined in its persons only: the others get NaN too, and
    the boolean column ``_in_population_<o>`` says who is in it (for the builder's notes).
    """
    sets = sorted({o.concept_set for o in outcomes.values()})
    o = occ.filter(occ.concept_set.isin(sets))
    aggs = {}
    for name, out in outcomes.items():
        cond = (o.concept_set == out.concept_set) & o.role.isin(list(out.roles))
        aggs[f"first_{name}"] = ibis.ifelse(cond, o.adm, ibis.null(dtypes.int64)).min()
    firsts = o.group_by(pid=o.patient_id).agg(**aggs)
    t = c.left_join(firsts, c.patient_id == firsts.pid).drop("pid")
    cols = {}
    for name, out in outcomes.items():
        first = t[f"first_{name}"]
        at_risk = first.isnull() | (first > t.fu_start)
        population = getattr(out, "population", None)
        if population is not None:
            cols[IN_POPULATION + name] = in_population(t, population)
            at_risk = at_risk & cols[IN_POPULATION + name]
        outcome = first.notnull() & (first <= t.admin_end) & (t.death.isnull() | (first <= t.death))
        died = t.death.notnull() & (t.death <= t.admin_end)
        end = ibis.cases((outcome, first), (died, t.death), else_=t.admin_end)
        event = ibis.cases((outcome, 1), (died, 2 if competing else 0), else_=0)
        cols[f"time_{name}"] = ibis.ifelse(
            at_risk, (end - t.fu_start).cast(dtypes.float64), ibis.null(dtypes.float64)
        )
        cols[f"event_{name}"] = ibis.ifelse(
            at_risk, event.cast(dtypes.float64), ibis.null(dtypes.float64)
        )
    return t.mutate(**cols).drop(*[f"first_{n}" for n in outcomes])


# -- covariates ----------------------------------------------------------------------------------


def covariate_columns(c: ibis.Table, occ: ibis.Table, cov, stays: ibis.Table | None = None) -> ibis.Table:
    """Add Charlson components + score, concept-set flags and the count of prior stays from the
    baseline windows.

    Baseline window of a lookback L: stays admitted in [index admission - L, index discharge]
    (the index stay included). Charlson: L = 730 days, every diagnosis role. ``prior_stays`` (when
    ``cov.prior_stays``; needs ``stays``): the number of the patient's stays admitted in
    [index admission - 730 days, index admission), the index stay not counted.
    """
    t = _diagnosis_covariates(c, occ, cov)
    if getattr(cov, "prior_stays", False):
        t = _prior_stays(t, stays)
    return t


def _prior_stays(c: ibis.Table, stays: ibis.Table) -> ibis.Table:
    s = stays.select(pid=stays.patient_id, sadm=stays.adm)
    j = s.join(c.select(pid=c.patient_id, iadm=c.adm), "pid")
    j = j.filter(j.sadm < j.iadm, j.sadm >= j.iadm - charlson.DEFAULT_LOOKBACK_DAYS)
    per = j.group_by("pid").agg(n_prior=j.count())
    t = c.left_join(per, c.patient_id == per.pid).drop("pid")
    return t.mutate(prior_stays=t.n_prior.fill_null(0).cast(dtypes.int64)).drop("n_prior")


def _diagnosis_covariates(c: ibis.Table, occ: ibis.Table, cov) -> ibis.Table:
    """Charlson components + score and concept-set flags (see :func:`covariate_columns`)."""
    flags = tuple(cov.flags)
    sets = {f.concept_set for f in flags}
    if cov.charlson:
        sets |= {charlson.concept_name(k) for k in charlson.COMPONENTS}
    names = [f.name for f in flags] + (
        [f"raw_{k}" for k in charlson.COMPONENTS] if cov.charlson else []
    )
    if not names:
        return c
    o = occ.filter(occ.concept_set.isin(sorted(sets)))
    o = o.select(pid=o.patient_id, day=o.adm, concept_set=o.concept_set, role=o.role)
    j = o.join(c.select(pid=c.patient_id, iadm=c.adm, idis=c.dis), "pid")
    j = j.filter(j.day <= j.idis)
    aggs = {}
    for f in flags:
        cond = (
            (j.concept_set == f.concept_set)
            & j.role.isin(list(f.roles))
            & (j.day >= j.iadm - int(f.lookback_days))
        )
        aggs[f.name] = ibis.ifelse(cond, 1, 0).max()
    if cov.charlson:
        for k in charlson.COMPONENTS:
            cond = (j.concept_set == charlson.concept_name(k)) & (
                j.day >= j.iadm - charlson.DEFAULT_LOOKBACK_DAYS
            )
            aggs[f"raw_{k}"] = ibis.ifelse(cond, 1, 0).max()
    per = j.group_by("pid").agg(**aggs)
    t = c.left_join(per, c.patient_id == per.pid).drop("pid")
    t = t.mutate(**{n: t[n].fill_null(0).cast(dtypes.int64) for n in names})
    if cov.charlson:
        comp = {k: t[f"raw_{k}"] for k in charlson.COMPONENTS}
        for top, low in charlson.HIERARCHY:
            comp[low] = ibis.ifelse(comp[top] == 1, 0, comp[low])
        t = t.mutate(**{f"cci_{k}": comp[k].cast(dtypes.int64) for k in charlson.COMPONENTS})
        score = sum(charlson.WEIGHTS[k] * t[f"cci_{k}"] for k in charlson.COMPONENTS)
        t = t.mutate(charlson=score.cast(dtypes.int64)).drop(
            *[f"raw_{k}" for k in charlson.COMPONENTS]
        )
    return t
