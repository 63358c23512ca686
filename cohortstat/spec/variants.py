"""Sensitivity variants: each a small override of the main study, merged into it.

Merge rule: a mapping of the variant merges key by key into the main study's mapping (recursively), so
``follow_up: {blanking_days: 730}`` changes one key and keeps the others; any other value (a list such
as ``inclusion`` or ``covariates.flags``, a number, a text) replaces the main one. A variant may override
``follow_up``, ``inclusion``, ``outcomes``, ``covariates``, ``analyses`` and ``comparison``
(:data:`cohortstat.spec.models.OVERRIDABLE`); the resolved variant is validated like a study, and its
problems are located under ``sensitivity.<name>.``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from cohortstat.spec.models import CROSS_CHECK, OVERRIDABLE, Study

__all__ = ["merge_override", "with_negative_controls", "only_analyses_differ", "resolve_variant", "variant_problems"]


def merge_override(base: Any, override: Any) -> Any:
    """``override`` merged into ``base``: mappings key by key (recursively), anything else replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge_override(base[key], value) if key in base else value
        return out
    return override


def _override(variant: Mapping) -> dict:
    return {k: v for k, v in variant.items() if k in OVERRIDABLE and v is not None}


def _resolved_document(data: Mapping, variant: Mapping) -> dict:
    main = {k: v for k, v in data.items() if k != "sensitivity"}
    return merge_override(main, _override(variant))


def variant_problems(data: Mapping, located: Callable[[ValidationError], list]) -> list[tuple[str, str]]:
    """Problems of every sensitivity variant of a study document, located ``sensitivity.<name>.<key>``.

    Only problems inside the parts a variant overrides are reported (the main study's own problems are
    reported once, at their main location).
    """
    from cohortstat.spec.checks import cross_check

    variants = data.get("sensitivity") if isinstance(data, Mapping) else None
    if not isinstance(variants, Mapping):
        return []
    out: list[tuple[str, str]] = []
    main_rates = {p for p in cross_check(data) if p[0].startswith("reference_rates")}
    if "main" in variants:
        out.append(("sensitivity", "'main' names the main analysis; give the variant another name"))
    for name, variant in variants.items():
        if not isinstance(variant, Mapping):
            continue  # the model's own validation reports it
        parts = [k for k, v in _override(variant).items()]
        doc = _resolved_document(data, variant)
        try:
            Study.model_validate(doc, context={CROSS_CHECK: False})
            errors = []
        except ValidationError as exc:
            errors = located(exc)
        errors += cross_check(doc)
        for loc, msg in errors:
            # rates the main study has but the variant's outcomes or ages do not: located under the variant
            new_rates_problem = loc.startswith("reference_rates") and (loc, msg) not in main_rates
            if new_rates_problem or any(loc == p or loc.startswith(p + ".") for p in parts):
                out.append((f"sensitivity.{name}.{loc}", msg))
    return list(dict.fromkeys(out))


def resolve_variant(study: Study, name: str) -> Study:
    """The study of sensitivity variant ``name``: the main study with the variant's override merged in.

    The result is a validated :class:`~cohortstat.spec.models.Study` without ``sensitivity``; running it
    gives the variant's results.

    Raises
    ------
    KeyError
        The study has no variant ``name``.
    """
    from cohortstat.spec.canonical import to_data
    from cohortstat.spec.loading import validate_document

    variant = study.sensitivity[name]
    data = to_data(study)
    doc = _resolved_document(data, to_data(variant))
    return validate_document(doc, source=f"sensitivity.{name}")


def only_analyses_differ(main: Study, variant: Study) -> bool:
    """True when two studies differ at most in ``analyses`` (the same cohort serves both)."""
    from cohortstat.spec.canonical import hash_data

    a, b = hash_data(main), hash_data(variant)
    for d in (a, b):
        d.pop("analyses", None)
        d.pop("sensitivity", None)
    return a == b


def with_negative_controls(study: Study) -> Study:
    """``study`` with each negative control added as an outcome ``nc_<concept set>`` (every role), so
    that the cohort builder gives it ``time_``/``event_`` columns (for building only: the analyses use
    the study itself)."""
    from cohortstat.spec.canonical import to_data
    from cohortstat.spec.checks import NEGATIVE_CONTROL_PREFIX
    from cohortstat.spec.loading import validate_document

    if not study.negative_controls:
        return study
    data = to_data(study)
    data["negative_controls"] = []  # they are outcomes of this study now
    data["reference_rates"] = None  # rates concern the study's outcomes, not the controls (building only)
    for c in study.negative_controls:
        data["outcomes"][NEGATIVE_CONTROL_PREFIX + c] = {"label": f"Negative control: {c}", "concept_set": c}
    return validate_document(data, source="negative_controls")
