"""Simulation of one chunk of synthetic patients: latent variables, stays and diagnoses as arrays.

Vectorised numpy only (no loop over patients or stays). Dates are int64 day numbers since
1970-01-01. Diagnosis codes are indices into :data:`cohortstat.data._synth_params.VOCAB`.
See docs/synthetic-data.md for the model.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """
    ns = group == "nonsevere"
    index_group = np.full(n, not ns)
    female = rng.random(n) < P.P_FEMALE
    male = ~female
    minor = rng.random(n) < P.P_MINOR
    a, b = P.ADULT_AGE_BETA
    age = np.where(minor, rng.integers(0, 18, n), 18 + np.floor(77 * rng.beta(a, b, n)).astype(np.int64))
    adm = rng.integers(S_START, S_END + 1, n)
    year = year_of(adm)
    birth_year = year - age
    birth_missing = rng.random(n) < P.P_BIRTH_YEAR_MISSING
    t = P.TOBACCO_LOGIT
    tob = ~minor & (rng.random(n) < expit(t["intercept"] + t["male"] * male + t["age_minus_50"] * (age - 50)))
    al = P.ALCOHOL_LOGIT
    alc = ~minor & (rng.random(n) < expit(al["intercept"] + al["male"] * male + al["tobacco"] * tob))
    flags = {"tobacco": tob, "alcohol": alc}

    comp: dict[str, np.ndarray] = {}
    for name, (icpt, slope, _) in P.COMORBIDITY.items():
        lp = icpt + slope * (age - 70) / 10.0
        if name in P.COMORBIDITY_FLAG_EFFECTS:
            flag, eff = P.COMORBIDITY_FLAG_EFFECTS[name]
            lp = lp + eff * flags[flag]
        comp[name] = rng.random(n) < expit(lp)
    complicated = comp["diab_any"] & (rng.random(n) < P.P_DIABETES_COMPLICATED)
    comp["diabwc"] = complicated
    comp["diab"] = comp.pop("diab_any") & ~complicated

    pc = P.PRIOR_CANCER_LOGIT
    prior = rng.random(n) < expit(pc["intercept"] + pc["age_minus_60"] * (age - 60))
    prior_on_index = prior & (rng.random(n) < P.P_PRIOR_CANCER_ON_INDEX)
    prior_meta = prior & (rng.random(n) < 0.1)
    prior_site = rng.integers(0, len(P.OUTCOME_CODES), n)  # index into OUTCOME_CODES order
    prior_days = rng.integers(1, P.PRIOR_CANCER_MAX_DAYS + 1, n)
    site_codes = [P.code_ids(pool) for pool in P.OUTCOME_CODES.values()]
    prior_code = np.select([prior_site == i for i in range(len(site_codes))],
                           [c[rng.integers(0, len(c), n)] for c in site_codes])
    prior_code = np.where(prior_meta, _pick(rng, P.METASTASIS_CODES, n), prior_code)

    score0 = _charlson(comp, np.zeros(n, bool), np.zeros(n, bool))
    e = P.EXPOSURE_LOGIT
    exposed = index_group & (rng.random(n) < expit(e["intercept"] + e["age_minus_60"] * (age - 60) + e["female"] * female
                                    + e["charlson"] * score0 + e["tobacco"] * tob + e["alcohol"] * alc))
    both_draw = index_group & (rng.random(n) < P.P_BOTH)
    los = np.where(exposed, rng.geometric(1 / P.INDEX_LOS_MEAN["exposed"], n),
                   rng.geometric(1 / P.INDEX_LOS_MEAN["reference"], n))
    dis = adm + los
    as_related = rng.random(n) < P.P_INFECTION_AS_RELATED
    brain = ~exposed & index_group & (rng.random(n) < P.P_BRAIN_INJURY)
    ref_code = np.where(brain, _pick(rng, P.BRAIN_CODES, n), _pick(rng, P.TRAUMA_CODES, n))
    if ns:
        ref_code = _pick(rng, P.NONSEVERE_CODES, n)
    cevd_index = np.isin(ref_code, P.code_ids(P.BRAIN_CEVD_CODES))
    c44 = P.code_ids(tuple(c for c in P.OUTCOME_CODES["skin"] if c.startswith("C44")))
    canc = prior & ~prior_meta & ~np.isin(prior_code, c44)  # C44 is not a Charlson malignancy
    comp_coded = dict(comp)
    comp_coded["cevd"] = comp["cevd"] | cevd_index
    charlson = _charlson(comp_coded, canc, prior_meta)
    d = P.INDEX_DEATH_LOGIT
    index_death = rng.random(n) < expit(d["intercept"] + d["exposure"] * exposed
                                        + d["age_minus_60"] * (age - 60) + d["charlson"] * score0
                                        + (P.NONSEVERE_INDEX_DEATH_SHIFT if ns else 0.0))

    # --- after the index discharge: independent exponential times (days, rounded up) -----------
    x = {"age": (age - P.AGE_CENTRE).astype(float), "female": female.astype(float),
         "charlson": charlson.astype(float), "tobacco": tob.astype(float), "exposure": exposed.astype(float)}
    offs = {}
    for k, par in {**P.OUTCOMES, "death": P.DEATH}.items():
        shift = P.nonsevere_log_hr(k) if ns else 0.0
        raw = rng.exponential(1.0, n) / np.exp(_log_hazard(par, x) + shift)
        offs[k] = np.ceil(np.minimum(raw, 1e7)).astype(np.int64)
    end_off = D_END - dis
    died_after = ~index_death & (offs["death"] <= end_off)
    death_day = np.where(index_death, dis, np.where(died_after, dis + offs["death"], NO_DEATH))
    dead = index_death | died_after
    in_hosp = died_after & (rng.random(n) < P.P_DEATH_IN_HOSPITAL)
    stay_only = in_hosp & (rng.random(n) < P.P_DEATH_ONLY_ON_STAY)
    upper = np.minimum(death_day, D_END)
    lower = np.maximum(D_START, jan1(birth_year))

    B = _Builder()
    idx = np.arange(n, dtype=np.int64)
    # index stays
    modes = np.where(index_death, MODE["death"], _live_modes(rng, n)).astype(np.int8)
    rows = B.stays(idx, adm, dis, modes)
    exp_principal = exposed & ~as_related
    exp_related = exposed & as_related
    B.diag(rows[exp_principal], _pick(rng, P.SEPSIS_PRINCIPAL, int(exp_principal.sum())), "principal")
    B.diag(rows[exp_related], _pick(rng, P.EXPOSED_OTHER_PRINCIPAL, int(exp_related.sum())), "principal")
    B.diag(rows[exp_related], _pick(rng, P.SEPSIS_RELATED, int(exp_related.sum())), "related")
    ref = ~exposed
    ref_related = ref & as_related & ~brain & index_group
    ref_principal = ref & ~ref_related
    B.diag(rows[ref_principal], ref_code[ref_principal], "principal")
    B.diag(rows[ref_related], _pick(rng, P.REFERENCE_OTHER_PRINCIPAL, int(ref_related.sum())), "principal")
    B.diag(rows[ref_related], ref_code[ref_related], "related")
    for name, (_, _, pool) in P.COMORBIDITY.items():
        key = "diab" if name == "diab_any" else name
        m = comp[key]
        B.diag(rows[m], _pick(rng, pool, int(m.sum())), "associated")
    B.diag(rows[complicated], _pick(rng, P.DIABWC_CODES, int(complicated.sum())), "associated")
    B.diag(rows[tob], _pick(rng, P.TOBACCO_CODES, int(tob.sum())), "associated")
    B.diag(rows[alc], _pick(rng, P.ALCOHOL_CODES, int(alc.sum())), "associated")
    B.diag(rows[prior_on_index], prior_code[prior_on_index], "associated")
    # prior cancer stays within 730 days before the index admission
    pm = prior & ~prior_on_index
    padm = np.maximum(adm[pm] - prior_days[pm], lower[pm])  # never before birth
    pdis = np.minimum(padm + rng.geometric(0.3, int(pm.sum())) - 1, adm[pm])
    prow = B.stays(idx[pm], padm, pdis, _live_modes(rng, int(pm.sum())))
    B.diag(prow, prior_code[pm], "principal")
    # a qualifying stay of the other kind in the study period
    lo2 = np.maximum(S_START, lower)
    hi2 = np.minimum(S_END, upper)
    both = both_draw & (hi2 >= lo2)
    bm = both
    badm = _uniform_days(rng, lo2[bm], hi2[bm])
    bdis = np.minimum(badm + rng.geometric(0.2, int(bm.sum())) - 1, upper[bm])
    brow = B.stays(idx[bm], badm, bdis, _live_modes(rng, int(bm.sum())))
    other_code = np.where(exposed[bm], _pick(rng, P.TRAUMA_CODES, int(bm.sum())),
                          _pick(rng, P.SEPSIS_PRINCIPAL, int(bm.sum())))
    B.diag(brow, other_code, "principal")
    # background stays 2008-2017 (before death, after birth)
    bg = P.BACKGROUND_STAYS
    lam = bg["intercept"] + bg["per_year_over_18"] * np.maximum(age - 18, 0) + bg["per_charlson"] * score0
    nb = np.minimum(rng.poisson(lam), bg["max"])
    gp = np.repeat(idx, nb)
    m = len(gp)
    gadm = _uniform_days(rng, lower[gp], upper[gp])
    gdis = np.minimum(gadm + rng.geometric(1 / 3, m) - 1, upper[gp])
    grow = B.stays(gp, gadm, gdis, _live_modes(rng, m))
    B.diag(grow, _pick(rng, P.BACKGROUND_PRINCIPAL, m), "principal")
    ga = rng.random(m) < P.P_BACKGROUND_ASSOCIATED
    B.diag(grow[ga], _pick(rng, P.BACKGROUND_ASSOCIATED, int(ga.sum())), "associated")
    gs = rng.random(m) < P.P_BACKGROUND_SEPSIS_ASSOCIATED
    B.diag(grow[gs], P.code_ids(("A419",))[0], "associated")
    # infection before the study period, trauma after it (never index events)
    pre = (rng.random(n) < P.P_PRE_PERIOD_INFECTION) & (lower <= S_START - 8)
    preadm = _uniform_days(rng, lower[pre], np.full(int(pre.sum()), S_START - 8))
    prow2 = B.stays(idx[pre], preadm, preadm + rng.integers(1, 8, int(pre.sum())), _live_modes(rng, int(pre.sum())))
    B.diag(prow2, _pick(rng, P.PRE_PERIOD_CODES, int(pre.sum())), "principal")
    post = (rng.random(n) < P.P_POST_PERIOD_TRAUMA) & (upper >= S_END + 1)
    postadm = _uniform_days(rng, np.full(int(post.sum()), S_END + 1), upper[post])
    postdis = np.minimum(postadm + rng.integers(0, 5, int(post.sum())), upper[post])
    qrow = B.stays(idx[post], postadm, postdis, _live_modes(rng, int(post.sum())))
    B.diag(qrow, _pick(rng, P.POST_PERIOD_CODES, int(post.sum())), "principal")
    # cancers after the index discharge: one stay each, admitted on the event day
    recorded = {}
    for k, pool in P.OUTCOME_CODES.items():
        rec = ~index_death & (offs[k] <= np.minimum(offs["death"], end_off))
        recorded[k] = rec
        cadm = dis[rec] + offs[k][rec]
        cdis = np.minimum(cadm + rng.geometric(0.25, int(rec.sum())) - 1, upper[rec])
        crow = B.stays(idx[rec], cadm, cdis, _live_modes(rng, int(rec.sum())))
        B.diag(crow, _pick(rng, pool, int(rec.sum())), "principal")
    # deaths in hospital after the index stay
    hadm = np.maximum(death_day[in_hosp] - (rng.geometric(0.2, int(in_hosp.sum())) - 1), dis[in_hosp] + 1)
    hrow = B.stays(idx[in_hosp], hadm, death_day[in_hosp], MODE["death"])
    B.diag(hrow, _pick(rng, P.DEATH_STAY_CODES, int(in_hosp.sum())), "principal")

    stays, diags = B.done()
    patient = {
        "sex": np.where(female, 2, 1).astype(np.int8), "birth_year": birth_year, "birth_missing": birth_missing,
        "age": age, "year": year, "minor": minor, "tobacco": tob, "alcohol": alc, "charlson": charlson,
        "exposed": exposed, "both": both, "prior_cancer": prior, "index_death": index_death,
        "adm": adm, "dis": dis, "dead": dead, "death_day": death_day, "death_on_patient": dead & ~stay_only,
        "in_hospital_death": in_hosp, "death_off": np.where(index_death, 0, offs["death"]), "end_off": end_off,
        **{f"off_{k}": offs[k] for k in P.OUTCOME_CODES}, **{f"rec_{k}": recorded[k] for k in P.OUTCOME_CODES},
    }
    return Chunk(patient, stays, diags)


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
