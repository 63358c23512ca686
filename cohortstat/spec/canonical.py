"""Canonical JSON of a study and its hash.

* :func:`canonical_json`: every field, defaults explicit, keys sorted, dates ISO 8601, no whitespace,
  UTF-8 text kept as is (``ensure_ascii=False``), NaN refused.
* :func:`spec_hash`: SHA-256 (hex) of the canonical JSON of the *result* fields only: fields declared
  with :func:`cohortstat.spec.models.cosmetic` (title, description, labels, ...) are left out, so that
  rewording a study never changes its hash while any change of a result field does. Run settings
  (:func:`cohortstat.spec.models.run_setting`: whether a run refuses bad data) are left out too. Mapping keys
  (concept-set, cohort and outcome names) are identifiers and always enter the hash.
* Fields added in later versions (``sensitivity``, ``negative_controls``, ``analyses.subgroups``, ...)
  are left out of the hash while at their default, and so are the parts a
  sensitivity variant does not override: a study that does not use them keeps its hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from pydantic import BaseModel

from cohortstat.spec.models import COSMETIC, HASH_KEY, OMIT_EMPTY, RESULT, RUN


def field_class(model: type[BaseModel], name: str) -> str | None:
    """``"result"``, ``"cosmetic"``, ``"run"``, or None when the field of ``model`` is unclassified."""
    extra = model.model_fields[name].json_schema_extra
    value = extra.get(HASH_KEY) if isinstance(extra, dict) else None
    return value if value in (RESULT, COSMETIC, RUN) else None


def _omitted(model: type[BaseModel], name: str, value: Any) -> bool:
    """An optional field (:func:`cohortstat.spec.models.optional_section`) at its default, or an unset
    (None) part of a sensitivity variant: not hashed, so studies that do not use it keep their hash."""
    extra = model.model_fields[name].json_schema_extra
    if isinstance(extra, dict) and extra.get(OMIT_EMPTY) and value == model.model_fields[name].default:
        return True
    return model.__name__ == "Variant" and value is None


def _plain(value: Any, *, result_only: bool) -> Any:
    if isinstance(value, BaseModel):
        out = {}
        for name in type(value).model_fields:
            kind = field_class(type(value), name)
            if kind is None:  # a programming error, caught by tests/spec/test_hash.py
                raise TypeError(f"{type(value).__name__}.{name} is not classified as result or cosmetic")
            if result_only and kind != RESULT:
                continue
            if result_only and _omitted(type(value), name, getattr(value, name)):
                continue
            out[name] = _plain(getattr(value, name), result_only=result_only)
        return out
    if isinstance(value, dict):
        return {str(k): _plain(v, result_only=result_only) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, result_only=result_only) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot serialise {type(value).__name__} in a study")


def to_data(model: BaseModel) -> dict:
    """Every field of ``model`` as plain JSON data (dates ISO, tuples as lists)."""
    return _plain(model, result_only=False)


def hash_data(model: BaseModel) -> dict:
    """The result fields of ``model`` as plain JSON data: what :func:`spec_hash` digests."""
    return _plain(model, result_only=True)


def dumps(data: Any) -> str:
    """Canonical JSON text of plain data."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical_json(study: BaseModel) -> str:
    """The whole resolved study as canonical JSON (cosmetic fields included)."""
    return dumps(to_data(study))


def spec_hash(study: BaseModel) -> str:
    """SHA-256 hex digest of the canonical JSON of the result fields of ``study``."""
    return hashlib.sha256(dumps(hash_data(study)).encode("utf-8")).hexdigest()
