"""Planted parameters and code pools of the synthetic PMSI-like data (see docs/synthetic-data.md).

Every number that shapes the generated data lives here, so that ``truth.json`` can write all of
them down. Hazards are per year at the reference profile (age 60, male, Charlson 0, no tobacco,
reference group) and are converted to per-day rates by the generator.
"""

from __future__ import annotations

import math

import numpy as np

GENERATOR_VERSION = "1.1.0"

#: patients simulated per chunk: fixed, so output never depends on the machine
CHUNK_PATIENTS = 200_000
#: parquet settings (fixed for byte-identical files)
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3
ROW_GROUP_ROWS = 1_000_000

DATA_START = "2008-01-01"
DATA_END = "2017-12-31"
STUDY_START = "2010-01-01"
STUDY_END = "2016-12-31"

# --- population ------------------------------------------------------------------------------
P_FEMALE = 0.50
P_MINOR = 0.03  # age 0-17 at the index admission (excluded by the study)
ADULT_AGE_BETA = (2.0, 1.4)  # adult age = 18 + floor(77 * Beta(a, b)), mean ~63
P_BIRTH_YEAR_MISSING = 0.002
#: logistic models of the flags: intercept, male, (age - 50) per year; alcohol also tobacco
TOBACCO_LOGIT = {"intercept": -0.9, "male": 0.5, "age_minus_50": -0.02}
ALCOHOL_LOGIT = {"intercept": -2.8, "male": 0.8, "tobacco": 1.2}

#: Charlson component -> (logit intercept at age 70, logit slope per 10 years, code pool);
#: prevalence rises with age (Quan 2005 ICD-10 coding of every code below)
COMORBIDITY: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "mi": (-3.0, 0.45, ("I219", "I214", "I229")),
    "chf": (-2.5, 0.60, ("I500", "I501", "I509")),
    "pvd": (-3.2, 0.45, ("I702", "I709", "I711")),
    "cevd": (-3.2, 0.50, ("G459", "G458")),
    "dementia": (-3.5, 0.90, ("F03", "F019", "F009")),
    "cpd": (-2.6, 0.30, ("J449", "J441")),
    "rheumd": (-4.2, 0.20, ("M069", "M059")),
    "pud": (-4.2, 0.20, ("K259", "K269", "K279")),
    "mld": (-3.9, 0.10, ("K746", "K703", "K730")),
    "diab_any": (-2.0, 0.25, ("E119", "E109", "E149")),
    "hp": (-4.6, 0.10, ("G819", "G821")),
    "rend": (-3.0, 0.55, ("N183", "N184", "N185")),
    "msld": (-5.3, 0.10, ("K704", "K721")),
    "aids": (-5.8, -0.30, ("B24", "B200")),
}
#: extra logit of cpd for tobacco, of mld/msld for alcohol
COMORBIDITY_FLAG_EFFECTS = {"cpd": ("tobacco", 0.8), "mld": ("alcohol", 1.5), "msld": ("alcohol", 1.5)}
#: share of diabetics coded with a chronic complication (E1x2-E1x5: Charlson "diabwc")
P_DIABETES_COMPLICATED = 0.30
DIABWC_CODES = ("E112", "E113", "E114", "E115", "E102")
#: Charlson 1987 weights (as tabulated by Quan 2005) of the components coded above
CHARLSON_WEIGHTS = {"mi": 1, "chf": 1, "pvd": 1, "cevd": 1, "dementia": 1, "cpd": 1, "rheumd": 1,
                    "pud": 1, "mld": 1, "diab": 1, "diabwc": 2, "hp": 2, "rend": 2, "canc": 2,
                    "msld": 3, "metacanc": 6, "aids": 6}

# --- prior cancer (excluded by the study: a cancer code within 730 days before the index) ---
PRIOR_CANCER_LOGIT = {"intercept": -3.6, "age_minus_60": 0.04}
P_PRIOR_CANCER_ON_INDEX = 0.2  # coded as an associated diagnosis of the index stay itself
PRIOR_CANCER_MAX_DAYS = 730

# --- index stay ------------------------------------------------------------------------------
#: logit of exposure (sepsis/severe infection vs trauma/brain injury): calibrated intercept so that
#: with P_BOTH the index patients are 17.47 % exposed (681,603 : 3,219,609)
EXPOSURE_LOGIT = {"intercept": -2.127, "age_minus_60": 0.03, "female": -0.3, "charlson": 0.25,
                  "tobacco": 0.5, "alcohol": 0.3}
TARGET_EXPOSED_SHARE = 681_603 / (681_603 + 3_219_609)
P_BOTH = 0.03  # a second qualifying stay of the other kind in the study period
P_INFECTION_AS_RELATED = 0.25  # infection coded as related diagnosis (DR), not principal (DP)
P_BRAIN_INJURY = 0.30  # share of reference patients with non-traumatic brain injury
INDEX_LOS_MEAN = {"exposed": 9.0, "reference": 6.0}  # geometric, days
#: in-hospital death during the index stay
INDEX_DEATH_LOGIT = {"intercept": -3.4, "exposure": 1.2, "age_minus_60": 0.04, "charlson": 0.15}

SEPSIS_PRINCIPAL = ("A419", "A410", "A415", "A403", "J189", "J159", "J13", "J181", "K650", "K658")
SEPSIS_RELATED = ("R572", "R651", "R650", "A419", "J189", "K659")
EXPOSED_OTHER_PRINCIPAL = ("J960", "N179", "R509")
TRAUMA_CODES = ("S720", "S065", "S062", "S270", "S320", "S422", "S821", "T020", "S361", "S224")
BRAIN_CODES = ("I630", "I634", "I619", "I609", "G931")
BRAIN_CEVD_CODES = ("I630", "I634", "I619", "I609")  # also Charlson cerebrovascular disease
REFERENCE_OTHER_PRINCIPAL = ("R402", "R55", "R251")
P_DISCHARGE_MODES = {"home": 0.85, "transfer": 0.10, "other": 0.05}

# --- outcomes after the index discharge (cause-specific, exponential in time since discharge) ---
#: outcome -> baseline hazard per year at the reference profile and log-hazard ratios:
#: age (per year), female (sex == 2), charlson (per point), tobacco (flag), exposure (sepsis)
OUTCOMES: dict[str, dict[str, float]] = {
    "lung": {"base_per_year": 5.0e-3, "age": 0.05, "female": -0.5, "charlson": 0.10,
             "tobacco": 1.3, "exposure": math.log(0.75)},
    "skin": {"base_per_year": 3.0e-3, "age": 0.05, "female": -0.1, "charlson": 0.05,
             "tobacco": 0.0, "exposure": math.log(0.80)},
    "oropharynx": {"base_per_year": 2.0e-3, "age": 0.03, "female": -0.9, "charlson": 0.10,
                   "tobacco": 1.1, "exposure": math.log(0.80)},
    "breast": {"base_per_year": 5.0e-5, "age": 0.02, "female": math.log(100.0), "charlson": 0.0,
               "tobacco": 0.1, "exposure": math.log(0.85)},
    "other": {"base_per_year": 6.0e-3, "age": 0.05, "female": -0.3, "charlson": 0.10,
              "tobacco": 0.3, "exposure": 0.0},
}
DEATH: dict[str, float] = {"base_per_year": 1.5e-2, "age": 0.08, "female": -0.35, "charlson": 0.30,
                           "tobacco": 0.4, "exposure": math.log(1.6)}
COVARIATES = ("age", "female", "charlson", "tobacco", "exposure")
AGE_CENTRE = 60
P_DEATH_IN_HOSPITAL = 0.35
P_DEATH_ONLY_ON_STAY = 0.10  # of in-hospital deaths: patients.death_date left null

OUTCOME_CODES: dict[str, tuple[str, ...]] = {
    "lung": ("C341", "C343", "C349"),
    "skin": ("C439", "C436", "C443", "C445", "C449"),
    "oropharynx": ("C01", "C029", "C049", "C069", "C109", "C139"),
    "breast": ("C509", "C504", "C508"),
    "other": ("C189", "C61", "C679", "C259", "C64", "C20", "C221", "C169", "C56", "C73"),
}
METASTASIS_CODES = ("C787", "C780", "C795")
DEATH_STAY_CODES = ("J960", "R570", "I469", "R090")

# --- background stays (common conditions, 2008-2017) ------------------------------------------
BACKGROUND_STAYS = {"intercept": 0.8, "per_year_over_18": 0.02, "per_charlson": 0.3, "max": 12}
BACKGROUND_PRINCIPAL = ("K802", "I10", "N390", "M170", "K359", "H251", "R074", "K409", "I480", "R55")
BACKGROUND_ASSOCIATED = ("I10", "E780", "E669", "Z864", "R51")
P_BACKGROUND_ASSOCIATED = 0.5
P_BACKGROUND_SEPSIS_ASSOCIATED = 0.02  # sepsis coded only as associated: never an entry event
P_PRE_PERIOD_INFECTION = 0.02  # a pneumonia/sepsis stay in 2008-2009 (before the study period)
PRE_PERIOD_CODES = ("J189", "A419")
P_POST_PERIOD_TRAUMA = 0.01  # a trauma stay in 2017 (after the study period)
POST_PERIOD_CODES = ("S720", "S065")

# --- study designs (added in 1.1.0; drawn from extra streams, the 1.0.0 records are unchanged) ---
#: random streams SeedSequence([seed, chunk, k]) of chunk ``chunk``: k = 1 the design outcomes of the
#: index patients, k = 2 the nonsevere-infection patients, k = 3 their design outcomes
DESIGN_STREAMS = {"index_design": 1, "nonsevere": 2, "nonsevere_design": 3}
#: unmeasured binary confounder U (never coded in the data): P(U = 1) by group
UNMEASURED_U = {"p_reference": 0.2, "p_exposed": 0.5, "p_nonsevere": 0.2}
#: age bands [lower, upper) of the age-modified effect (the edges of the designs study's age_bands)
AGE_BAND_EDGES = (18, 50, 65, 80, 200)
#: follow-up periods [start, end) in days since the index discharge of the period-varying effect
PERIOD_EDGES_DAYS = (0, 730, 1825, 100_000)
#: outcomes planted for the study designs, same form as OUTCOMES (``exposure`` unused: see below)
DESIGN_OUTCOMES: dict[str, dict[str, float]] = {
    "myeloid": {"base_per_year": 5.0e-3, "age": 0.03, "female": -0.3, "charlson": 0.10,
                "tobacco": 0.2, "exposure": 0.0},
    "in_situ": {"base_per_year": 6.0e-3, "age": 0.02, "female": 0.3, "charlson": 0.05,
                "tobacco": 0.3, "exposure": 0.0},
}
#: myeloid: log-HR of exposure per age band (ages [18, 50), [50, 65), [65, 80), [80, 200))
MYELOID_EXPOSURE_BY_AGE_BAND = (math.log(2.0), math.log(1.5), 0.0, math.log(0.6))
#: in_situ: log-HR of exposure per period of time since discharge ([0, 2 y), [2, 5 y), [5 y, ...))
IN_SITU_EXPOSURE_BY_PERIOD = (math.log(0.5), math.log(0.8), 0.0)
DESIGN_OUTCOME_CODES: dict[str, tuple[str, ...]] = {
    "myeloid": ("D469", "D461", "D45", "D471", "D473"),
    "in_situ": ("D069", "D059", "D049", "D090", "D019"),
}
#: negative controls: no exposure effect (HR 1) given U; base per year, age (per year), log-HR of U
NEGATIVE_CONTROLS: dict[str, dict[str, float]] = {
    "ingrown_nail": {"base_per_year": 4.0e-3, "age": 0.00, "u": math.log(1.3)},
    "hearing_loss": {"base_per_year": 4.0e-3, "age": 0.04, "u": math.log(1.8)},
    "hip_arthrosis": {"base_per_year": 4.0e-3, "age": 0.04, "u": math.log(2.1)},
    "glaucoma": {"base_per_year": 3.0e-3, "age": 0.04, "u": math.log(1.5)},
    "varicose_veins": {"base_per_year": 4.0e-3, "age": 0.01, "u": math.log(2.3)},
    "carpal_tunnel": {"base_per_year": 4.0e-3, "age": 0.00, "u": math.log(1.65)},
    "dupuytren": {"base_per_year": 3.0e-3, "age": 0.03, "u": math.log(2.7)},
    "hallux_valgus": {"base_per_year": 4.0e-3, "age": 0.01, "u": math.log(1.95)},
}
NEGATIVE_CONTROL_CODES: dict[str, tuple[str, ...]] = {
    "ingrown_nail": ("L600",), "hearing_loss": ("H905", "H903"), "hip_arthrosis": ("M169", "M161"),
    "glaucoma": ("H401", "H409"), "varicose_veins": ("I839", "I830"), "carpal_tunnel": ("G560",),
    "dupuytren": ("M720",), "hallux_valgus": ("M201",),
}
#: nonsevere-infection comparator: patients per index patient, index codes (principal diagnosis)
NONSEVERE_PER_PATIENT = 0.3
NONSEVERE_CODES = ("J209", "L031", "L039", "N10", "N300", "N309", "A090", "A099")
#: log-HR of sepsis vs nonsevere infection (covariate-adjusted, cause-specific) for the cancer sites
#: and death; the nonsevere group's hazard is the sepsis hazard divided by exp(value). For myeloid,
#: in_situ and the negative controls the nonsevere group has the reference (trauma) hazard, so
#: sepsis vs nonsevere = the age-band / period effects above, and HR 1 (given U) for the controls.
SEPSIS_VS_NONSEVERE: dict[str, float] = {"lung": math.log(0.70), "skin": math.log(0.80),
                                         "oropharynx": math.log(0.75), "breast": math.log(0.85),
                                         "other": 0.0, "death": math.log(1.4)}
NONSEVERE_INDEX_DEATH_SHIFT = -1.0  # logit shift of index death vs the trauma group


def nonsevere_log_hr(cause: str) -> float:
    """Log-HR of the nonsevere group vs the trauma group for ``cause`` (from the planted contrasts)."""
    if cause in SEPSIS_VS_NONSEVERE:
        base = DEATH if cause == "death" else OUTCOMES[cause]
        return base["exposure"] - SEPSIS_VS_NONSEVERE[cause]
    return 0.0


def negative_control_bias(name: str) -> float:
    """Log of the marginal HR of exposure (sepsis vs either comparator) of negative control ``name``
    when U is not adjusted for: log((p1 e^g + 1 - p1) / (p0 e^g + 1 - p0)) (rare-outcome value)."""
    g = NEGATIVE_CONTROLS[name]["u"]
    p1, p0 = UNMEASURED_U["p_exposed"], UNMEASURED_U["p_reference"]
    return math.log((p1 * math.exp(g) + 1 - p1) / (p0 * math.exp(g) + 1 - p0))


ROLES = ("principal", "related", "associated")
MODES = ("home", "transfer", "death", "other")


def _all_codes() -> tuple[str, ...]:
    pools: list[tuple[str, ...]] = [pool for _, _, pool in COMORBIDITY.values()]
    pools += list(OUTCOME_CODES.values())
    pools += [DIABWC_CODES, SEPSIS_PRINCIPAL, SEPSIS_RELATED, EXPOSED_OTHER_PRINCIPAL, TRAUMA_CODES,
              BRAIN_CODES, REFERENCE_OTHER_PRINCIPAL, METASTASIS_CODES, DEATH_STAY_CODES,
              BACKGROUND_PRINCIPAL, BACKGROUND_ASSOCIATED, PRE_PERIOD_CODES, POST_PERIOD_CODES,
              NONSEVERE_CODES, *DESIGN_OUTCOME_CODES.values(), *NEGATIVE_CONTROL_CODES.values(),
              ("F172", "F171", "Z720", "F102", "F101", "A419")]
    return tuple(sorted({c for pool in pools for c in pool}))


#: every code the generator writes; diagnoses carry an index into this vocabulary until written
VOCAB: tuple[str, ...] = _all_codes()
_INDEX = {c: i for i, c in enumerate(VOCAB)}
TOBACCO_CODES = ("F172", "F171", "Z720")
ALCOHOL_CODES = ("F102", "F101")


def code_ids(codes: tuple[str, ...]) -> np.ndarray:
    """Vocabulary indices of ``codes`` (int32)."""
    return np.array([_INDEX[c] for c in codes], dtype=np.int32)


def planted() -> dict:
    """Every planted parameter, JSON-ready (written to truth.json)."""
    names = [k for k in globals() if k.isupper() and not k.startswith("_") and k != "VOCAB"]
    out = {}
    for k in names:
        v = globals()[k]
        if isinstance(v, (int, float, str, dict, tuple)):
            out[k.lower()] = v
    out["negative_control_marginal_log_hr"] = {k: negative_control_bias(k) for k in NEGATIVE_CONTROLS}
    out["nonsevere_vs_reference_log_hr"] = {k: nonsevere_log_hr(k) for k in (*OUTCOMES, "death")}
    return out
