"""Constants shared by the cohort, analysis and report layers: column names, codes, labels, thresholds.

One place for every name the layers exchange, so the analysis table, the analyses and the report agree
without repeating string literals. Nothing here computes anything.
"""

from __future__ import annotations

__all__ = [
    "ADJUSTMENTS",
    "AGE",
    "AT_RISK_YEARS",
    "BALANCE_THRESHOLD",
    "BIRTH_YEAR_STEP",
    "CALENDAR_YEAR",
    "CCI_PREFIX",
    "CENSORED",
    "CHARLSON",
    "CHARLSON_CATEGORIES",
    "COMPETING_EVENT",
    "DAYS_PER_YEAR",
    "ESTIMATE_COLUMNS",
    "ESTIMATE_COUNT_COLUMNS",
    "ESTIMATE_TYPES",
    "EXPOSURE",
    "EXPOSURE_TERM",
    "FEMALE",
    "GROUP",
    "MAIN_ANALYSIS",
    "MATCHED_SET",
    "MODEL_KINDS",
    "MODEL_LABELS",
    "MODEL_TABLE_COLUMNS",
    "OUTCOME_EVENT",
    "PERSON_KEY",
    "PS",
    "RARE_OUTCOME_RISK",
    "SEX",
    "SEX_CODES",
    "SEX_FEMALE",
    "SEX_MALE",
    "STANDARD_COVARIATES",
    "TABLE_ONE_LABELS",
    "WEIGHT",
    "YES_NO",
    "event_column",
    "time_column",
]

# --------------------------------------------------------------------------- analysis-table columns
#: Study-local integer id of a person (one row per person in the analysis table).
PERSON_KEY = "person_key"
#: Name of the person's comparison group (the exposed or the reference cohort).
GROUP = "group"
#: 1 for the exposed group, 0 for the reference group.
EXPOSURE = "exposure"
AGE = "age"
SEX = "sex"
#: Derived in the analysis layer: 1 when ``sex == SEX_FEMALE``.
FEMALE = "female"
CALENDAR_YEAR = "calendar_year"
CHARLSON = "charlson"
#: Prefix of the Charlson component indicator columns (``cci_diabetes``, ...).
CCI_PREFIX = "cci_"
#: Columns added by confounding control.
WEIGHT = "weight"
MATCHED_SET = "matched_set"
PS = "ps"
#: The covariates a study may switch on, in the order they enter the models (flags follow).
STANDARD_COVARIATES = (AGE, SEX, CALENDAR_YEAR, CHARLSON)


def time_column(outcome: str) -> str:
    """Follow-up time (days) column of an outcome: ``time_<outcome>``."""
    return f"time_{outcome}"


def event_column(outcome: str) -> str:
    """Event code column of an outcome: ``event_<outcome>`` (see the event codes below)."""
    return f"event_{outcome}"


#: Suffix of the attrition step of an age rule's first check (``adult.birth_year``: birth year known); the
#: rule's own step (``adult``) then counts the ages out of range. A dot never occurs in a rule id.
BIRTH_YEAR_STEP = ".birth_year"

# --------------------------------------------------------------------------- codes
#: Event codes of ``event_<outcome>``.
CENSORED = 0
OUTCOME_EVENT = 1
COMPETING_EVENT = 2
#: Sex codes of the data (PMSI convention).
SEX_MALE = 1
SEX_FEMALE = 2
SEX_CODES = {SEX_MALE: "male", SEX_FEMALE: "female"}
#: Charlson score categories of Table 1 (upper bounds 0, 2, 4, then open).
CHARLSON_CATEGORIES = ("0", "1-2", "3-4", "5+")

# --------------------------------------------------------------------------- labels
#: Row labels of Table 1 (``variable`` column); Charlson components and flags are labelled
#: ``"Charlson: <name>"`` and ``"Flag: <name>"``.
TABLE_ONE_LABELS = {
    "patients": "Patients",
    AGE: "Age, years",
    SEX: "Sex",
    CALENDAR_YEAR: "Calendar year of index",
    CHARLSON: "Charlson score",
    "charlson_category": "Charlson category",
}
#: Level labels of binary rows of Table 1.
YES_NO = {1: "yes", 0: "no"}

# --------------------------------------------------------------------------- time and thresholds
#: Days per year: person-years = days / DAYS_PER_YEAR; year marks of the at-risk table.
DAYS_PER_YEAR = 365.25
#: Years since the start of follow-up at which numbers at risk are reported.
AT_RISK_YEARS = (0, 1, 2, 3, 4, 5, 6, 7, 8)
#: |SMD| above which a covariate is reported as imbalanced (Austin 2009).
BALANCE_THRESHOLD = 0.1
#: Cumulative incidence below which an outcome counts as rare for the E-value (VanderWeele & Ding 2017).
RARE_OUTCOME_RISK = 0.15

# --------------------------------------------------------------------------- models and estimates
#: The exposure's term in every outcome model.
EXPOSURE_TERM = EXPOSURE
#: Model names of ``OutcomeResults.models`` and their labels in the report.
MODEL_LABELS = {
    "cox_crude": "Cox, crude",
    "cox_adjusted": "Cox, adjusted",
    "cox_ps": "Cox, PS-adjusted",
    "fg_crude": "Fine-Gray, crude",
    "fg_adjusted": "Fine-Gray, adjusted",
    "fg_ps": "Fine-Gray, PS-adjusted",
}
#: Columns of ``OutcomeResults.models``.
MODEL_TABLE_COLUMNS = ("model", "term", "coef", "hr", "se", "robust_se", "ci_lower", "ci_upper", "z", "p", "n",
                       "n_events", "e_value", "e_value_ci")
#: Vocabularies of the tidy estimates table.
MAIN_ANALYSIS = "main"
MODEL_KINDS = ("cox", "fine_gray")
ADJUSTMENTS = ("crude", "adjusted", "matched", "weighted")
ESTIMATE_TYPES = ("hr", "shr", "sir")
#: Columns of the tidy estimates table (``StudyResults.estimates()``), in order.
ESTIMATE_COLUMNS = ("analysis", "outcome", "subgroup", "level", "period", "model", "adjustment", "term",
                    "estimate_type", "estimate", "ci_lower", "ci_upper", "p", "calibrated_ci_lower",
                    "calibrated_ci_upper", "calibrated_p", "events_exposed", "events_reference", "infinite")
#: Columns of the estimates table that are counts of persons (suppressed below the minimum cell count).
ESTIMATE_COUNT_COLUMNS = ("events_exposed", "events_reference")
