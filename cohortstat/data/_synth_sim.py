"""Simulation of one chunk of synthetic patients: latent variables, stays and diagnoses as arrays.

Vectorised numpy only (no loop over patients or stays). Dates are int64 day numbers since
1970-01-01. Diagnosis codes are indices into :data:`cohortstat.data._synth_params.VOCAB`.
See docs/synthetic-data.md for the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from cohortstat.data import _synth_params as P


def day(iso: str) -> int:
    """Day number (since 1970-01-01) of an ISO date."""
    return int(np.datetime64(iso, "D").astype(np.int64))


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of day numbers."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def jan1(year: np.ndarray) -> np.ndarray:
    """Day number of 1 January of ``year``."""
    return (np.asarray(year, dtype=np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


D_START, D_END = day(P.DATA_START), day(P.DATA_END)
S_START, S_END = day(P.STUDY_START), day(P.STUDY_END)
MODE = {m: i for i, m in enumerate(P.MODES)}
ROLE = {r: i for i, r in enumerate(P.ROLES)}
NO_DEATH = np.iinfo(np.int64).max // 4


@dataclass
class Chunk:
    """Latent patient arrays plus the stays and diagnoses of one chunk (local patient indices)."""

    patient: dict[str, np.ndarray]
    stays: dict[str, np.ndarray]  # pat, adm, dis, mode
    diagnoses: dict[str, np.ndarray]  # stay (row in stays), code, role


class _Builder:
    """Collects blocks of stays and their diagnoses."""

    def __init__(self) -> None:
        self.s: list[tuple[np.ndarray, ...]] = []
        self.d: list[tuple[np.ndarray, ...]] = []
        self.n = 0

    def stays(self, pat, adm, dis, mode) -> np.ndarray:
        m = len(pat)
        rows = np.arange(self.n, self.n + m, dtype=np.int64)
        mode = np.broadcast_to(np.asarray(mode, dtype=np.int8), (m,))
        self.s.append((pat.astype(np.int64), adm.astype(np.int64), dis.astype(np.int64), mode))
        self.n += m
        return rows

    def diag(self, rows, code, role: str) -> None:
        code = np.broadcast_to(np.asarray(code, dtype=np.int32), rows.shape)
        self.d.append((rows, code, np.full(rows.shape, ROLE[role], dtype=np.int8)))

    def done(self) -> tuple[dict, dict]:
        cat = [np.concatenate(c) for c in zip(*self.s)]
        dcat = [np.concatenate(c) for c in zip(*self.d)]
        return (dict(zip(("pat", "adm", "dis", "mode"), cat)),
                dict(zip(("stay", "code", "role"), dcat)))


def _pick(rng, pool: tuple[str, ...], m: int) -> np.ndarray:
    ids = P.code_ids(pool)
    return ids[rng.integers(0, len(ids), m)]


def _live_modes(rng, m: int) -> np.ndarray:
    names = list(P.P_DISCHARGE_MODES)
    probs = np.array([P.P_DISCHARGE_MODES[k] for k in names])
    codes = np.array([MODE[k] for k in names], dtype=np.int8)
    return codes[rng.choice(len(names), size=m, p=probs)]


def _uniform_days(rng, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def _log_hazard(par: dict[str, float], x: dict[str, np.ndarray]) -> np.ndarray:
    lp = np.log(par["base_per_year"] / 365.25)
    for k in P.COVARIATES:
        lp = lp + par[k] * x[k]
    return lp


def simulate_chunk(rng: np.random.Generator, n: int, group: str = "index") -> Chunk:
    """Simulate ``n`` patients with ``rng``; draws happen in a fixed order (determinism).

    ``group="index"``: the sepsis/trauma population; ``"nonsevere"``: patients whose index stay is a
    nonsevere infection (same draws in the same order, so the index population never changes; the
    group's values are then set: no sepsis, no second qualifying stay, its own hazards).

    Each step below draws from ``rng`` in turn and adds its variables to ``v``; the order of the steps
    is the order of the draws, so it must not change.
    """
    v = SimpleNamespace(n=n, ns=group == "nonsevere", idx=np.arange(n, dtype=np.int64))
    _draw_person(rng, v)
    _draw_comorbidity(rng, v)
    _draw_prior_cancer(rng, v)
    _draw_index_stay(rng, v)
    _draw_times(rng, v)
    B = _Builder()
    _write_index_stays(rng, v, B)
    _write_prior_and_other_stays(rng, v, B)
    _write_background_stays(rng, v, B)
    _write_period_edge_stays(rng, v, B)
    recorded = _write_outcome_stays(rng, v, B)
    _write_death_stays(rng, v, B)
    stays, diags = B.done()
    return Chunk(_patient_columns(v, recorded), stays, diags)


def _draw_person(rng, v) -> None:
    """Sex, age, admission day, birth year, tobacco and alcohol."""
    n = v.n
    v.female = rng.random(n) < P.P_FEMALE
    male = ~v.female
    v.minor = rng.random(n) < P.P_MINOR
    a, b = P.ADULT_AGE_BETA
    v.age = np.where(v.minor, rng.integers(0, 18, n), 18 + np.floor(77 * rng.beta(a, b, n)).astype(np.int64))
    v.adm = rng.integers(S_START, S_END + 1, n)
    v.year = year_of(v.adm)
    v.birth_year = v.year - v.age
    v.birth_missing = rng.random(n) < P.P_BIRTH_YEAR_MISSING
    t = P.TOBACCO_LOGIT
    v.tob = ~v.minor & (rng.random(n) < expit(t["intercept"] + t["male"] * male + t["age_minus_50"] * (v.age - 50)))
    al = P.ALCOHOL_LOGIT
    v.alc = ~v.minor & (rng.random(n) < expit(al["intercept"] + al["male"] * male + al["tobacco"] * v.tob))


def _draw_comorbidity(rng, v) -> None:
    """Charlson components (diabetes split into uncomplicated and complicated)."""
    flags = {"tobacco": v.tob, "alcohol": v.alc}
    comp: dict[str, np.ndarray] = {}
    for name, (icpt, slope, _) in P.COMORBIDITY.items():
        lp = icpt + slope * (v.age - 70) / 10.0
        if name in P.COMORBIDITY_FLAG_EFFECTS:
            flag, eff = P.COMORBIDITY_FLAG_EFFECTS[name]
            lp = lp + eff * flags[flag]
        comp[name] = rng.random(v.n) < expit(lp)
    v.complicated = comp["diab_any"] & (rng.random(v.n) < P.P_DIABETES_COMPLICATED)
    comp["diabwc"] = v.complicated
    comp["diab"] = comp.pop("diab_any") & ~v.complicated
    v.comp = comp


def _draw_prior_cancer(rng, v) -> None:
    """A cancer before the index stay (on the index stay or a stay within the look-back), its code."""
    n = v.n
    pc = P.PRIOR_CANCER_LOGIT
    v.prior = rng.random(n) < expit(pc["intercept"] + pc["age_minus_60"] * (v.age - 60))
    v.prior_on_index = v.prior & (rng.random(n) < P.P_PRIOR_CANCER_ON_INDEX)
    v.prior_meta = v.prior & (rng.random(n) < 0.1)
    prior_site = rng.integers(0, len(P.OUTCOME_CODES), n)  # index into OUTCOME_CODES order
    v.prior_days = rng.integers(1, P.PRIOR_CANCER_MAX_DAYS + 1, n)
    site_codes = [P.code_ids(pool) for pool in P.OUTCOME_CODES.values()]
    prior_code = np.select([prior_site == i for i in range(len(site_codes))],
                           [c[rng.integers(0, len(c), n)] for c in site_codes])
    v.prior_code = np.where(v.prior_meta, _pick(rng, P.METASTASIS_CODES, n), prior_code)


def _draw_index_stay(rng, v) -> None:
    """Exposure, a second qualifying stay, length of stay, diagnoses' kinds, Charlson score, index death."""
    n, ns = v.n, v.ns
    index_group = np.full(n, not ns)
    v.score0 = _charlson(v.comp, np.zeros(n, bool), np.zeros(n, bool))
    e = P.EXPOSURE_LOGIT
    v.exposed = index_group & (rng.random(n) < expit(
        e["intercept"] + e["age_minus_60"] * (v.age - 60) + e["female"] * v.female + e["charlson"] * v.score0
        + e["tobacco"] * v.tob + e["alcohol"] * v.alc))
    v.both_draw = index_group & (rng.random(n) < P.P_BOTH)
    los = np.where(v.exposed, rng.geometric(1 / P.INDEX_LOS_MEAN["exposed"], n),
                   rng.geometric(1 / P.INDEX_LOS_MEAN["reference"], n))
    v.dis = v.adm + los
    v.as_related = rng.random(n) < P.P_INFECTION_AS_RELATED
    v.brain = ~v.exposed & index_group & (rng.random(n) < P.P_BRAIN_INJURY)
    v.ref_code = np.where(v.brain, _pick(rng, P.BRAIN_CODES, n), _pick(rng, P.TRAUMA_CODES, n))
    if ns:
        v.ref_code = _pick(rng, P.NONSEVERE_CODES, n)
    v.ref_related = ~v.exposed & v.as_related & ~v.brain & index_group
    cevd_index = np.isin(v.ref_code, P.code_ids(P.BRAIN_CEVD_CODES))
    c44 = P.code_ids(tuple(c for c in P.OUTCOME_CODES["skin"] if c.startswith("C44")))
    canc = v.prior & ~v.prior_meta & ~np.isin(v.prior_code, c44)  # C44 is not a Charlson malignancy
    v.charlson = _charlson({**v.comp, "cevd": v.comp["cevd"] | cevd_index}, canc, v.prior_meta)
    d = P.INDEX_DEATH_LOGIT
    v.index_death = rng.random(n) < expit(d["intercept"] + d["exposure"] * v.exposed
                                          + d["age_minus_60"] * (v.age - 60) + d["charlson"] * v.score0
                                          + (P.NONSEVERE_INDEX_DEATH_SHIFT if ns else 0.0))


def _draw_times(rng, v) -> None:
    """After the index discharge: independent exponential times (days, rounded up), death and its place."""
    n = v.n
    x = {"age": (v.age - P.AGE_CENTRE).astype(float), "female": v.female.astype(float),
         "charlson": v.charlson.astype(float), "tobacco": v.tob.astype(float), "exposure": v.exposed.astype(float)}
    v.offs = {}
    for k, par in {**P.OUTCOMES, "death": P.DEATH}.items():
        shift = P.nonsevere_log_hr(k) if v.ns else 0.0
        raw = rng.exponential(1.0, n) / np.exp(_log_hazard(par, x) + shift)
        v.offs[k] = np.ceil(np.minimum(raw, 1e7)).astype(np.int64)
    v.end_off = D_END - v.dis
    died_after = ~v.index_death & (v.offs["death"] <= v.end_off)
    v.death_day = np.where(v.index_death, v.dis, np.where(died_after, v.dis + v.offs["death"], NO_DEATH))
    v.dead = v.index_death | died_after
    v.in_hosp = died_after & (rng.random(n) < P.P_DEATH_IN_HOSPITAL)
    v.stay_only = v.in_hosp & (rng.random(n) < P.P_DEATH_ONLY_ON_STAY)
    v.upper = np.minimum(v.death_day, D_END)
    v.lower = np.maximum(D_START, jan1(v.birth_year))


def _write_index_stays(rng, v, B) -> None:
    """Index stays with their principal, related and associated diagnoses."""
    modes = np.where(v.index_death, MODE["death"], _live_modes(rng, v.n)).astype(np.int8)
    rows = B.stays(v.idx, v.adm, v.dis, modes)
    v.index_rows = rows
    exp_principal = v.exposed & ~v.as_related
    exp_related = v.exposed & v.as_related
    B.diag(rows[exp_principal], _pick(rng, P.SEPSIS_PRINCIPAL, int(exp_principal.sum())), "principal")
    B.diag(rows[exp_related], _pick(rng, P.EXPOSED_OTHER_PRINCIPAL, int(exp_related.sum())), "principal")
    B.diag(rows[exp_related], _pick(rng, P.SEPSIS_RELATED, int(exp_related.sum())), "related")
    ref_principal = ~v.exposed & ~v.ref_related
    B.diag(rows[ref_principal], v.ref_code[ref_principal], "principal")
    B.diag(rows[v.ref_related], _pick(rng, P.REFERENCE_OTHER_PRINCIPAL, int(v.ref_related.sum())), "principal")
    B.diag(rows[v.ref_related], v.ref_code[v.ref_related], "related")
    for name, (_, _, pool) in P.COMORBIDITY.items():
        m = v.comp["diab" if name == "diab_any" else name]
        B.diag(rows[m], _pick(rng, pool, int(m.sum())), "associated")
    B.diag(rows[v.complicated], _pick(rng, P.DIABWC_CODES, int(v.complicated.sum())), "associated")
    B.diag(rows[v.tob], _pick(rng, P.TOBACCO_CODES, int(v.tob.sum())), "associated")
    B.diag(rows[v.alc], _pick(rng, P.ALCOHOL_CODES, int(v.alc.sum())), "associated")
    B.diag(rows[v.prior_on_index], v.prior_code[v.prior_on_index], "associated")


def _write_prior_and_other_stays(rng, v, B) -> None:
    """Prior cancer stays within the look-back (never before birth), and a qualifying stay of the other
    kind in the study period."""
    pm = v.prior & ~v.prior_on_index
    padm = np.maximum(v.adm[pm] - v.prior_days[pm], v.lower[pm])
    pdis = np.minimum(padm + rng.geometric(0.3, int(pm.sum())) - 1, v.adm[pm])
    prow = B.stays(v.idx[pm], padm, pdis, _live_modes(rng, int(pm.sum())))
    B.diag(prow, v.prior_code[pm], "principal")
    lo2 = np.maximum(S_START, v.lower)
    hi2 = np.minimum(S_END, v.upper)
    bm = v.both = v.both_draw & (hi2 >= lo2)
    badm = _uniform_days(rng, lo2[bm], hi2[bm])
    bdis = np.minimum(badm + rng.geometric(0.2, int(bm.sum())) - 1, v.upper[bm])
    brow = B.stays(v.idx[bm], badm, bdis, _live_modes(rng, int(bm.sum())))
    other_code = np.where(v.exposed[bm], _pick(rng, P.TRAUMA_CODES, int(bm.sum())),
                          _pick(rng, P.SEPSIS_PRINCIPAL, int(bm.sum())))
    B.diag(brow, other_code, "principal")


def _write_background_stays(rng, v, B) -> None:
    """Background stays 2008-2017 (after birth, before death)."""
    bg = P.BACKGROUND_STAYS
    lam = bg["intercept"] + bg["per_year_over_18"] * np.maximum(v.age - 18, 0) + bg["per_charlson"] * v.score0
    nb = np.minimum(rng.poisson(lam), bg["max"])
    gp = np.repeat(v.idx, nb)
    m = len(gp)
    gadm = _uniform_days(rng, v.lower[gp], v.upper[gp])
    gdis = np.minimum(gadm + rng.geometric(1 / 3, m) - 1, v.upper[gp])
    grow = B.stays(gp, gadm, gdis, _live_modes(rng, m))
    B.diag(grow, _pick(rng, P.BACKGROUND_PRINCIPAL, m), "principal")
    ga = rng.random(m) < P.P_BACKGROUND_ASSOCIATED
    B.diag(grow[ga], _pick(rng, P.BACKGROUND_ASSOCIATED, int(ga.sum())), "associated")
    gs = rng.random(m) < P.P_BACKGROUND_SEPSIS_ASSOCIATED
    B.diag(grow[gs], P.code_ids(("A419",))[0], "associated")


def _write_period_edge_stays(rng, v, B) -> None:
    """An infection before the study period and a trauma after it (never index events)."""
    n = v.n
    pre = (rng.random(n) < P.P_PRE_PERIOD_INFECTION) & (v.lower <= S_START - 8)
    k = int(pre.sum())
    preadm = _uniform_days(rng, v.lower[pre], np.full(k, S_START - 8))
    prow = B.stays(v.idx[pre], preadm, preadm + rng.integers(1, 8, k), _live_modes(rng, k))
    B.diag(prow, _pick(rng, P.PRE_PERIOD_CODES, k), "principal")
    post = (rng.random(n) < P.P_POST_PERIOD_TRAUMA) & (v.upper >= S_END + 1)
    k = int(post.sum())
    postadm = _uniform_days(rng, np.full(k, S_END + 1), v.upper[post])
    postdis = np.minimum(postadm + rng.integers(0, 5, k), v.upper[post])
    qrow = B.stays(v.idx[post], postadm, postdis, _live_modes(rng, k))
    B.diag(qrow, _pick(rng, P.POST_PERIOD_CODES, k), "principal")


def _write_outcome_stays(rng, v, B) -> dict[str, np.ndarray]:
    """Cancers after the index discharge: one stay each, admitted on the event day; who has one, by site."""
    recorded = {}
    for k, pool in P.OUTCOME_CODES.items():
        rec = ~v.index_death & (v.offs[k] <= np.minimum(v.offs["death"], v.end_off))
        recorded[k] = rec
        cadm = v.dis[rec] + v.offs[k][rec]
        cdis = np.minimum(cadm + rng.geometric(0.25, int(rec.sum())) - 1, v.upper[rec])
        crow = B.stays(v.idx[rec], cadm, cdis, _live_modes(rng, int(rec.sum())))
        B.diag(crow, _pick(rng, pool, int(rec.sum())), "principal")
    return recorded


def _write_death_stays(rng, v, B) -> None:
    """Deaths in hospital after the index stay: a stay ending on the death day."""
    h = v.in_hosp
    hadm = np.maximum(v.death_day[h] - (rng.geometric(0.2, int(h.sum())) - 1), v.dis[h] + 1)
    hrow = B.stays(v.idx[h], hadm, v.death_day[h], MODE["death"])
    B.diag(hrow, _pick(rng, P.DEATH_STAY_CODES, int(h.sum())), "principal")


def _patient_columns(v, recorded: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The per-patient truth of a chunk."""
    return {
        "sex": np.where(v.female, 2, 1).astype(np.int8), "birth_year": v.birth_year,
        "birth_missing": v.birth_missing, "age": v.age, "year": v.year, "minor": v.minor, "tobacco": v.tob,
        "alcohol": v.alc, "charlson": v.charlson, "exposed": v.exposed, "both": v.both,
        "prior_cancer": v.prior, "index_death": v.index_death, "adm": v.adm, "dis": v.dis, "dead": v.dead,
        "death_day": v.death_day, "death_on_patient": v.dead & ~v.stay_only, "in_hospital_death": v.in_hosp,
        "death_off": np.where(v.index_death, 0, v.offs["death"]), "end_off": v.end_off,
        **{f"off_{k}": v.offs[k] for k in P.OUTCOME_CODES}, **{f"rec_{k}": recorded[k] for k in P.OUTCOME_CODES},
    }


def _charlson(comp: dict[str, np.ndarray], canc: np.ndarray, meta: np.ndarray) -> np.ndarray:
    """Charlson score with the usual hierarchy (diabwc > diab, metacanc > canc, msld > mld)."""
    w = P.CHARLSON_WEIGHTS
    s = np.zeros(len(canc), dtype=np.int64)
    for k in ("mi", "chf", "pvd", "cevd", "dementia", "cpd", "rheumd", "pud", "hp", "rend", "aids", "diabwc", "msld"):
        s += w[k] * comp[k]
    s += w["diab"] * (comp["diab"] & ~comp["diabwc"])
    s += w["mld"] * (comp["mld"] & ~comp["msld"])
    s += w["metacanc"] * meta + w["canc"] * (canc & ~meta)
    return s
