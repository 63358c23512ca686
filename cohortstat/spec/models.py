"""Pydantic models of a study file (frozen, ``extra="forbid"``).

Attribute names mirror the YAML keys of ``studies/sepsis_cancer.yaml``. Every field is declared with
:func:`result` (it changes results, so it enters :func:`cohortstat.spec.spec_hash`) or :func:`cosmetic`
(text for people: titles, labels, descriptions); ``tests/spec/test_hash.py`` walks every field of every
model and fails when one is neither.

Field-level checks (types, ranges, ICD-10 codes, names) live here; checks that relate several parts of
the study (references to concept sets and cohorts, windows, duplicate ids, column clashes) live in
:mod:`cohortstat.spec.checks` and run from :class:`Study`'s validator, so a study built in Python is
checked exactly like a loaded file.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    model_validator,
)

from pydantic_core import PydanticCustomError

from cohortstat.spec.codes import canonical_codes, check_item, exclusion_problems

HASH_KEY = "hash"
RESULT = "result"
COSMETIC = "cosmetic"
RUN = "run"

#: Largest number of days accepted in a window (lookback, offset, blanking, landmark, maximum follow-up):
#: 200 years. Day numbers are int64 in the engines; a bound keeps every sum of them far from overflow.
MAX_DAYS = 73_050

#: Validation context key: set to False by the loader, which runs the cross-checks itself (on the raw
#: document, so that they are reported together with field errors).
CROSS_CHECK = "cross_check"


def result(default: Any = ..., **kwargs: Any) -> Any:
    """A field whose value can change results: it enters the spec hash."""
    return Field(default, json_schema_extra={HASH_KEY: RESULT}, **kwargs)


def cosmetic(default: Any = ..., **kwargs: Any) -> Any:
    """A field for people only (title, label, description): it is left out of the spec hash."""
    return Field(default, json_schema_extra={HASH_KEY: COSMETIC}, **kwargs)


#: json_schema_extra key: a field left out of the canonical JSON (and so of the hash) while it holds its
#: default, so that adding such a field keeps the hash of every study that does not use it.
OMIT_EMPTY = "omit_empty"


def optional_section(default: Any, **kwargs: Any) -> Any:
    """A result field that enters the hash only when it differs from its default (a field added in a later
    version: studies that do not use it keep their hash)."""
    return Field(default, json_schema_extra={HASH_KEY: RESULT, OMIT_EMPTY: True}, **kwargs)


def run_setting(default: Any = ..., **kwargs: Any) -> Any:
    """A field that decides whether or how a run goes ahead, never a number it computes: outside the hash."""
    return Field(default, json_schema_extra={HASH_KEY: RUN}, **kwargs)


# --- value types -----------------------------------------------------------------------------------

_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")


def _check_name(value: str) -> str:
    if not _NAME_RE.fullmatch(value):
        raise ValueError(
            f"invalid name {value[:40]!r}: use a lower-case identifier (a letter, then letters, "
            "digits or '_', at most 63 characters), e.g. lung_cancer"
        )
    return value


Name = Annotated[str, Strict(), AfterValidator(_check_name)]
Text = Annotated[str, Strict()]
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Float = Annotated[float, Strict()]

Role = Literal["principal", "related", "associated"]
ROLES: tuple[str, ...] = ("principal", "related", "associated")


def _unique(values: tuple, what: str) -> None:
    seen = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{what} {v!r} is listed twice; list each once")
        seen.add(v)


def _roles(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("list at least one diagnosis role: principal, related, associated")
    _unique(values, "role")
    return tuple(r for r in ROLES if r in values)  # canonical order: PMSI DP, DR, DAS


def _name_set(values: tuple[str, ...]) -> tuple[str, ...]:
    _unique(values, "name")
    return tuple(sorted(values))


def _non_empty_name_set(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("list at least one name")
    return _name_set(values)


Roles = Annotated[tuple[Role, ...], AfterValidator(_roles)]
NameSet = Annotated[tuple[Name, ...], AfterValidator(_name_set)]
NonEmptyNameSet = Annotated[tuple[Name, ...], AfterValidator(_non_empty_name_set)]


def _check_code_item(value: str) -> str:
    check_item(value)  # raises ValueError with the rule when malformed; does not expand
    return value


CodeItem = Annotated[str, Strict(), AfterValidator(_check_code_item)]


def _include(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("empty code list: list at least one ICD-10 code or range (e.g. C33-C34)")
    return canonical_codes(values)


Include = Annotated[tuple[CodeItem, ...], AfterValidator(_include)]
Exclude = Annotated[tuple[CodeItem, ...], AfterValidator(canonical_codes)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- the study -------------------------------------------------------------------------------------


class StudyPeriod(_Model):
    """Calendar window in which index (entry) stays are searched."""

    start: dt.date = result(description="first admission date of an index stay")
    end: dt.date = result(description="last admission date of an index stay (inclusive)")


class ConceptSet(_Model):
    """A named list of ICD-10 prefixes and ranges, with exclusions; stored canonical."""

    description: Text = cosmetic("", description="what the codes mean, with the source")
    include: Include = result(description="codes and ranges; canonical prefixes after loading")
    exclude: Exclude = result((), description="codes removed from the include list")

    @model_validator(mode="after")
    def _exclusions_within_include(self) -> ConceptSet:
        problems = exclusion_problems(self.include, self.exclude)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Entry(_Model):
    """The entry event: first stay in the study period with a diagnosis of these concept sets."""

    concept_sets: NonEmptyNameSet = result(description="concept sets defining the entry stay")
    roles: Roles = result(ROLES, description="diagnosis roles that qualify")


class Cohort(_Model):
    """An exposure group."""

    label: Text = cosmetic(description="name shown in tables and figures")
    entry: Entry = result()


class Comparison(_Model):
    """Which cohort is exposed, which is the reference, and what to do with patients in both."""

    exposed: Name = result()
    reference: Name = result()
    in_both: Literal["exclude", "first_event", "exposed"] = result("exclude")


class AgeAtIndex(_Model):
    """Keep patients aged ``min_years`` (and at most ``max_years``) at the index admission."""

    id: Name = result()
    description: Text = cosmetic("")
    rule: Literal["age_at_index"] = result()
    min_years: Int = result(ge=0, le=150)
    max_years: Int | None = result(None, ge=0, le=150)


class NoPriorConcept(_Model):
    """Drop patients with the concept set in the lookback window before (or during) the index stay.

    The window holds the stays admitted from ``lookback_days`` before the index admission to
    ``window_end``: the index discharge (default, the index stay included) or the day before the index
    admission (``before_admission``: a washout of the exposure's own concept set).
    """

    id: Name = result()
    description: Text = cosmetic("")
    rule: Literal["no_prior_concept"] = result()
    concept_set: Name = result()
    lookback_days: Int = result(ge=0, le=MAX_DAYS)
    roles: Roles = result(ROLES)
    window_end: Literal["index_discharge", "before_admission"] = optional_section(
        "index_discharge", description="last day of the window: the index discharge (index stay included) or "
        "the day before the index admission (before_admission: a washout)"
    )


class AliveAtDischarge(_Model):
    """Keep patients discharged alive from the index stay."""

    id: Name = result()
    description: Text = cosmetic("")
    rule: Literal["alive_at_discharge"] = result()


class AliveAtLandmark(_Model):
    """Keep patients alive ``days`` after the follow-up anchor (a landmark)."""

    id: Name = result()
    description: Text = cosmetic("")
    rule: Literal["alive_at_landmark"] = result()
    days: Int = result(ge=1, le=MAX_DAYS)


InclusionRule = Annotated[
    Union[AgeAtIndex, NoPriorConcept, AliveAtDischarge, AliveAtLandmark], Field(discriminator="rule")
]
INCLUSION_RULES = (AgeAtIndex, NoPriorConcept, AliveAtDischarge, AliveAtLandmark)


class FollowUp(_Model):
    """Start, blanking and end of follow-up."""

    anchor: Literal["admission", "discharge"] = result("discharge")
    offset_days: Int = result(0, ge=0, le=MAX_DAYS)
    blanking_days: Int = result(0, ge=0, le=MAX_DAYS)
    max_days: Int | None = result(None, ge=1, le=MAX_DAYS)
    end_of_data: dt.date = result()


class OutcomePopulation(_Model):
    """The persons an outcome is analysed in (e.g. breast cancer in women only): sex and age at index."""

    sex: Literal["female", "male"] | None = result(None, description="female or male only (null: both)")
    min_age: Int | None = result(None, ge=0, le=150, description="youngest age at index, in years (inclusive)")
    max_age: Int | None = result(None, ge=0, le=150, description="oldest age at index, in years (inclusive)")

    @model_validator(mode="after")
    def _restricts(self) -> OutcomePopulation:
        if self.sex is None and self.min_age is None and self.max_age is None:
            raise ValueError("an empty population restricts nothing: give sex (female or male), min_age or "
                             "max_age, or remove population")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError(f"min_age ({self.min_age}) is above max_age ({self.max_age}); min_age must be "
                             "<= max_age")
        return self

    def describe(self) -> str:
        """Plain words: ``women``, ``persons aged 50 years or more``, ``men aged 18 years to 64 years``."""
        who = {"female": "women", "male": "men", None: "persons"}[self.sex]
        lo, hi = self.min_age, self.max_age
        if lo is not None and hi is not None:
            return f"{who} aged {lo} years to {hi} years"
        if lo is not None:
            return f"{who} aged {lo} years or more"
        if hi is not None:
            return f"{who} aged {hi} years or less"
        return who


class Outcome(_Model):
    """An incident event: first occurrence of the concept set after the blanking period."""

    label: Text = cosmetic(description="name shown in tables and figures")
    concept_set: Name = result()
    roles: Roles = result(ROLES)
    population: OutcomePopulation | None = optional_section(
        None, description="analyse the outcome in these persons only (sex, age at index)"
    )


class Flag(_Model):
    """A 0/1 covariate: the concept set in the lookback window before the index stay."""

    name: Name = result()
    concept_set: Name = result()
    lookback_days: Int = result(ge=0, le=MAX_DAYS)
    roles: Roles = result(ROLES)


#: Default degrees of freedom of a natural spline term (``form: spline`` without ``df``).
DEFAULT_SPLINE_DF = 4
TERM_FORMS = ("linear", "categories", "spline")


class TermForm(_Model):
    """How age or calendar year enters a model: ``linear``, ``categories`` (bands cut at ``breaks``, the
    first band the reference) or a natural cubic ``spline`` with ``df`` degrees of freedom (R
    ``splines::ns(x, df=)``: interior knots at quantiles, boundary knots at the range)."""

    form: Literal["linear", "categories", "spline"] = result("linear")
    df: Int | None = result(None)
    breaks: tuple[Int, ...] = result(())

    @model_validator(mode="before")
    @classmethod
    def _default_df(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("form") == "spline" and data.get("df") is None:
            return {**data, "df": DEFAULT_SPLINE_DF}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> TermForm:
        if self.form != "spline" and self.df is not None:
            raise ValueError(f"df applies to form: spline only (form is {self.form})")
        if self.form == "spline" and not 1 <= self.df <= 20:
            raise ValueError(f"df must be between 1 and 20 for form: spline, got {self.df}")
        if self.form != "categories" and self.breaks:
            raise ValueError(f"breaks apply to form: categories only (form is {self.form})")
        if self.form == "categories":
            if not self.breaks:
                raise ValueError("form: categories needs breaks, the cut points, e.g. breaks: [50, 65, 80]")
            if any(b >= a for b, a in zip(self.breaks, self.breaks[1:])):
                raise ValueError(f"breaks must be strictly increasing, got {list(self.breaks)}")
        return self


def _term(value: Any) -> Any:
    """``true``/``false`` as they are (linear / absent: the hash of such studies is unchanged); a mapping
    as a :class:`TermForm`, ``{form: linear}`` alone being ``true``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, TermForm):
        return True if value == TermForm() else value
    if not isinstance(value, dict):  # reported as any boolean's type error (the loader adds the hint)
        raise PydanticCustomError("bool_type", "Input should be a valid boolean or a mapping {form: ...}")
    unknown = [k for k in value if k not in TermForm.model_fields]
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}; allowed keys: form, df, breaks")
    from pydantic import ValidationError

    try:
        term = TermForm.model_validate(value)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        if "input" in err and err["type"] != "value_error":
            msg += f", got {err['input']!r:.40}"
        raise ValueError(f"{where}: {msg}" if where else msg) from None
    return True if term == TermForm() else term


#: ``age`` / ``calendar_year`` of a covariates section: true, false, or a :class:`TermForm` mapping.
Term = Annotated[Union[Bool, TermForm], BeforeValidator(_term)]


class Covariates(_Model):
    """Adjustment covariates."""

    age: Term = result(True, description="true (linear), false, or {form: linear|categories|spline, df, breaks}")
    sex: Bool = result(True)
    calendar_year: Term = result(True, description="as age")
    charlson: Bool = result(True)
    flags: tuple[Flag, ...] = result(())

    def merged(self, other: Covariates | None) -> PropensityCovariates:
        """Every variable this section or ``other`` (the propensity model's own covariates) uses: the
        columns the cohort builds. A switch is on when on in either (its form is the models' business),
        flags of both are kept (``other``'s flags with a name of this section's are the same flag)."""
        if other is None:
            return PropensityCovariates(**{k: getattr(self, k) for k in Covariates.model_fields})
        names = {f.name for f in self.flags}
        return PropensityCovariates(
            age=self.age or other.age, sex=self.sex or other.sex,
            calendar_year=self.calendar_year or other.calendar_year,
            charlson=bool(self.charlson or other.charlson),
            prior_stays=bool(getattr(self, "prior_stays", False) or getattr(other, "prior_stays", False)),
            flags=self.flags + tuple(f for f in other.flags if f.name not in names),
        )


class CoxSettings(_Model):
    """Cause-specific Cox models."""

    crude: Bool = result(True)
    adjusted: Bool = result(True)
    ties: Literal["efron", "breslow"] = result("efron")
    strata: NameSet = result(())
    variance: Literal["model", "robust"] = result("model")


class FineGraySettings(_Model):
    """Fine-Gray subdistribution hazard models."""

    crude: Bool = result(True)
    adjusted: Bool = result(True)
    variance: Literal["crr", "robust"] = result("crr")


class PropensityCovariates(Covariates):
    """The propensity model's own covariates (``analyses.confounding.covariates``): the shape of the study's
    ``covariates`` plus the Charlson components and the count of prior stays."""

    charlson: Literal[True, False, "score", "components"] = result(
        True, description="true or score (the Charlson score), components (one 0/1 term per component), false"
    )
    prior_stays: Bool = result(
        False, description="number of stays admitted in the 730 days before the index admission"
    )


def _trim(value: tuple | None) -> tuple | None:
    if value is not None and not 0.0 < value[0] < value[1] < 1.0:
        raise ValueError(f"trim bounds [a, b] must satisfy 0 < a < b < 1, got {list(value)}")
    return value


def _truncate(value: float | None) -> float | None:
    if value is not None and not 0.5 < value < 1.0:
        raise ValueError(f"truncate is a percentile in (0.5, 1), e.g. 0.99, got {value!r}")
    return value


class Confounding(_Model):
    """Confounding control by propensity-score weighting or matching."""

    method: Literal["none", "iptw", "overlap", "matching"] = result("none")
    ratio: Int = result(1, ge=1, le=100)
    caliper_sd: Float = result(0.2, gt=0, le=10)
    exact: NameSet = result(())
    age_band_years: Int = result(5, ge=1, le=100)
    stabilized: Bool = result(True)
    seed: Int = result(0, ge=0, le=2**32 - 1)
    outcome_model: Literal["marginal", "conditional"] = optional_section(
        "marginal", description="after matching: marginal (clustered variance) or conditional (Cox stratified "
        "on the matched set)"
    )
    estimand: Literal["ate", "att"] = optional_section(
        "ate", description="IPTW: average treatment effect (ate) or effect in the exposed (att); overlap weights "
        "target the overlap population (ATO) and matching the exposed (ATT) by construction"
    )
    trim: Annotated[tuple[Float, Float], AfterValidator(_trim)] | None = optional_section(
        None, description="drop persons whose propensity score lies outside [a, b] before weighting or matching"
    )
    truncate: Annotated[Float, AfterValidator(_truncate)] | None = optional_section(
        None, description="IPTW: cap weights at this percentile and at 1 minus it, e.g. 0.99"
    )
    covariates: PropensityCovariates | None = optional_section(
        None, description="the propensity model's own covariates (default: the study's covariates)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Confounding:
        if self.estimand == "att" and self.method in ("overlap", "matching"):
            target = "the overlap population (ATO)" if self.method == "overlap" else "the exposed (ATT)"
            raise ValueError(f"estimand: att is not available with method: {self.method}, which targets {target} by "
                             "construction; use estimand: att with method: iptw, or drop the estimand key")
        return self


class PHTestSettings(_Model):
    """Proportional-hazards test (R ``cox.zph``)."""

    transform: Literal["km", "identity", "rank", "log"] = result("km")
    alpha: Float = result(0.05, gt=0, lt=1)


class Analyses(_Model):
    """Which models to fit and how."""

    cox: CoxSettings = result(CoxSettings())
    fine_gray: FineGraySettings = result(FineGraySettings())
    confounding: Confounding = result(Confounding())
    ph_test: PHTestSettings = result(PHTestSettings())
    subgroups: tuple[Name, ...] = optional_section(
        (), description="variables whose levels get a hazard ratio each, with the interaction test: age_band, sex "
        "or a flag"
    )
    age_bands: tuple[Annotated[int, Strict()], ...] = optional_section(
        (), description="cut points of age_band in years (default 50, 65, 80: <50, 50-64, 65-79, >=80)"
    )
    periods: tuple[tuple[Annotated[int, Strict()], Annotated[int, Strict()]], ...] = optional_section(
        (), description="follow-up periods [start, end) in days since the follow-up anchor, increasing and disjoint"
    )


class DataChecks(_Model):
    """What a run does when the data checks report an error (never changes a number: outside the hash)."""

    strict: Bool = run_setting(False, description="refuse to run when a data check reports an error")


# --- data cleaning (source layer) ------------------------------------------------------------------
# The cleaning rules of each data source that users may switch off (data_schemas/snds.md, omop.md).
# Every rule is on by default; each changes which records enter the cohort, hence result fields.


class SndsCleaning(_Model):
    """Cleaning rules of the SNDS PMSI-MCO source (each on by default)."""

    ghm_error: Bool = result(True, description="exclude stays in an error GHM (GRG_GHM 90...)")
    return_codes: Bool = result(True, description="exclude stays with a chaining return code other than 0")
    duplicate_finess: Bool = result(True, description="exclude the duplicated geographic FINESS of AP-HP, HCL, AP-HM")
    duplicate_rsa: Bool = result(True, description="count an RSA present in several year files once")


class OmopCleaning(_Model):
    """Cleaning rules of the OMOP CDM source (each on by default)."""

    icd10_dot: Bool = result(True, description="remove the dot of ICD-10 source values (A41.9 -> A419)")


class DataCleaning(_Model):
    """Per-source cleaning switches (``data_cleaning:`` in the study file)."""

    snds: SndsCleaning = result(SndsCleaning())
    omop: OmopCleaning = result(OmopCleaning())


DATA_CLEANING_MODELS = (DataCleaning, SndsCleaning, OmopCleaning)
# --- end of data cleaning ---------------------------------------------------------------------------


#: The parts of a study a sensitivity variant may override (``sensitivity.<name>.<part>``).
OVERRIDABLE = ("follow_up", "inclusion", "outcomes", "covariates", "analyses", "comparison")


class Variant(_Model):
    """A sensitivity analysis: a small override of the main study (merged into it, see
    :func:`cohortstat.spec.variants.resolve_variant`). Each part holds the keys to change, as in the main
    study; mappings merge key by key, lists (``inclusion``, ``covariates.flags``) replace the main one."""

    description: Text = cosmetic("", description="what the variant changes and why")
    follow_up: dict[Text, Any] | None = result(None)
    inclusion: list[Any] | None = result(None)
    outcomes: dict[Text, Any] | None = result(None)
    covariates: dict[Text, Any] | None = result(None)
    analyses: dict[Text, Any] | None = result(None)
    comparison: dict[Text, Any] | None = result(None)


def _variant_names(values: dict) -> dict:
    if "main" in values:
        raise ValueError("'main' names the main analysis; give the variant another name")
    return values


def _unique_events(values: tuple[str, ...]) -> tuple[str, ...]:
    _unique(values, "competing event")
    return values


class ReferenceRate(_Model):
    """One row of a reference-rate file: the rate of ``outcome`` in an age band, for one sex (and year)."""

    outcome: Name = result()
    age_lower: Int = result(ge=0, le=150, description="first age of the band, in years (included)")
    age_upper: Int | None = result(None, ge=1, le=151, description="end of the band (excluded); None: open-ended")
    sex: Literal[1, 2] = result(description="1 male, 2 female (as in the data)")
    calendar_year: Int | None = result(None, ge=1900, le=2200)
    rate: Float = result(ge=0, description="events per ``per`` person-years")


class ReferenceRates(_Model):
    """Population reference rates for standardized incidence ratios (``reference_rates:``).

    ``file`` is a CSV (columns ``outcome, age_lower, age_upper, sex, [calendar_year,] rate``), its path
    relative to the study file; loading reads it into ``rates`` and records its SHA-256, so that the
    resolved study (and its lock) carries the rates and a changed file changes the spec hash. A study
    whose ``rates`` are given (a lock) is not read from ``file`` again.
    """

    file: Text = cosmetic(description="CSV of rates, path relative to the study file")
    per: Float = result(100_000.0, gt=0, description="person-years the rates are expressed per")
    sha256: Text | None = result(None, description="SHA-256 of the file's bytes (filled in by loading)")
    rates: tuple[ReferenceRate, ...] = result((), description="the rows of the file (filled in by loading)")


class Study(_Model):
    """A whole study: science only (no engine, paths or disclosure settings)."""

    spec_version: Literal[1] = result(description="version of the study-file format")
    title: Text = cosmetic(description="title of the study")
    description: Text = cosmetic("", description="free text")
    study_period: StudyPeriod = result()
    concept_sets: dict[Name, ConceptSet] = result(min_length=1)
    cohorts: dict[Name, Cohort] = result(min_length=2)
    comparison: Comparison = result()
    inclusion: tuple[InclusionRule, ...] = result(())
    follow_up: FollowUp = result()
    outcomes: dict[Name, Outcome] = result(min_length=1)
    competing_events: Annotated[tuple[Literal["death"], ...], AfterValidator(_unique_events)] = result(
        ("death",)
    )
    covariates: Covariates = result(Covariates())
    analyses: Analyses = result(Analyses())
    data_checks: DataChecks = run_setting(DataChecks())
    data_cleaning: DataCleaning = result(DataCleaning())
    negative_controls: tuple[Name, ...] = optional_section(
        (), description="concept sets of outcomes believed unaffected by the exposure (at least 5): empirical calibration"
    )
    sensitivity: Annotated[dict[Name, Variant], AfterValidator(_variant_names)] = optional_section(
        {}, description="named sensitivity analyses, each a small override of the main study"
    )
    reference_rates: ReferenceRates | None = optional_section(
        None, description="population reference rates by age band and sex (and year): standardized incidence ratios"
    )

    def __hash__(self) -> int:
        # Frozen pydantic models hash their fields, and dict fields are unhashable: hash the canonical
        # JSON instead (equal studies have equal canonical JSON), so that a Study can sit in a frozen
        # dataclass or a cache key.
        from cohortstat.spec.canonical import canonical_json

        return hash(canonical_json(self))

    @model_validator(mode="after")
    def _cross_check(self, info: ValidationInfo) -> Study:
        if info.context is not None and info.context.get(CROSS_CHECK) is False:
            return self
        from cohortstat.spec.checks import cross_check  # checks reads plain data, not models

        problems = cross_check(self.model_dump())
        if problems:
            raise ValueError("; ".join(f"{loc}: {msg}" for loc, msg in problems))
        return self


#: Every model of the study file (for the classification and round-trip tests).
ALL_MODELS: tuple[type[BaseModel], ...] = (
    Study,
    StudyPeriod,
    ConceptSet,
    Entry,
    Cohort,
    Comparison,
    *INCLUSION_RULES,
    FollowUp,
    OutcomePopulation,
    Outcome,
    Flag,
    TermForm,
    Covariates,
    PropensityCovariates,
    CoxSettings,
    FineGraySettings,
    Confounding,
    PHTestSettings,
    Analyses,
    DataChecks,
    *DATA_CLEANING_MODELS,
    Variant,
    ReferenceRate,
    ReferenceRates,
)
