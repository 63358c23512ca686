"""Model terms of a covariates section: which analysis-table columns a model uses, and the derived
columns of age and calendar year entered as categories or natural splines.

A covariates section (the study's ``covariates`` or ``analyses.confounding.covariates``) gives, in a
fixed order: ``age``, ``female`` (``sex == 2``), ``calendar_year``, ``charlson`` (or the Charlson
components ``cci_<component>``), ``prior_stays``, then each flag. Age and calendar year take one of three
forms (:class:`cohortstat.spec.models.TermForm`):

- ``linear`` (``true``): the column itself;
- ``spline``: ``df`` columns ``ns(age, df = 4)1`` ... ``ns(age, df = 4)4``, the basis of R
  ``splines::ns(age, df = 4)`` (:mod:`cohortstat.models.splines`) with knots from the table given;
- ``categories``: one categorical column ``cut(age)`` with bands ``<b1``, ``b1-(b2-1)``, ..., ``>=bk``
  (the first band is the reference level of every model).

:func:`add_term_columns` computes the derived columns once on the whole analysis table; every model of
the run then reads the same columns (a spline's knots do not move with matching, weighting or a subgroup).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohortstat.cohort.charlson import COMPONENTS
from cohortstat.constants import AGE, CALENDAR_YEAR, CHARLSON, FEMALE
from cohortstat.models.splines import NaturalSpline

__all__ = ["PRIOR_STAYS", "add_term_columns", "band_labels", "raw_columns", "term_columns"]

#: Analysis-table column: number of stays admitted in the 730 days before the index admission.
PRIOR_STAYS = "prior_stays"


def _form(value):
    """``(form, df, breaks)`` of a covariate switch (``True`` is linear); None when switched off."""
    if value is False or value is None:
        return None
    if value is True:
        return ("linear", None, ())
    return (value.form, value.df, tuple(value.breaks))


def _term_names(column: str, value) -> list[str]:
    form = _form(value)
    if form is None:
        return []
    kind, df, _ = form
    if kind == "spline":
        return [f"ns({column}, df = {df}){k}" for k in range(1, df + 1)]
    if kind == "categories":
        return [f"cut({column})"]
    return [column]


def _charlson_columns(value) -> list[str]:
    if value == "components":
        return [f"cci_{k}" for k in COMPONENTS]
    return [CHARLSON] if value else []


def term_columns(cov) -> list[str]:
    """Model columns of a covariates section, in a fixed order (derived ones included)."""
    out = _term_names(AGE, cov.age)
    if cov.sex:
        out.append(FEMALE)
    out += _term_names(CALENDAR_YEAR, cov.calendar_year)
    out += _charlson_columns(cov.charlson)
    if getattr(cov, "prior_stays", False):
        out.append(PRIOR_STAYS)
    out.extend(f.name for f in cov.flags)
    return out


def raw_columns(cov) -> list[str]:
    """The variables of a covariates section as they are (age in years, calendar year, ...): the
    columns of balance tables."""
    out = [AGE] if _form(cov.age) else []
    if cov.sex:
        out.append(FEMALE)
    if _form(cov.calendar_year):
        out.append(CALENDAR_YEAR)
    out += _charlson_columns(cov.charlson)
    if getattr(cov, "prior_stays", False):
        out.append(PRIOR_STAYS)
    out.extend(f.name for f in cov.flags)
    return out


def band_labels(breaks) -> list[str]:
    """``[50, 65, 80]`` -> ``<50, 50-64, 65-79, >=80`` (whole numbers: a band ends one below the next cut)."""
    b = [int(v) for v in breaks]
    return [f"<{b[0]}"] + [f"{lo}-{hi - 1}" for lo, hi in zip(b, b[1:])] + [f">={b[-1]}"]


def _bands(values: pd.Series, breaks) -> pd.Categorical:
    labels = band_labels(breaks)
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    code = np.searchsorted(np.asarray(breaks, dtype=float), x, side="right")
    code = np.where(np.isnan(x), -1, code)
    return pd.Categorical.from_codes(code, categories=labels)


def _spline(values: pd.Series, df: int) -> np.ndarray:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(x)
    out = np.full((x.size, df), np.nan)
    out[ok] = NaturalSpline.from_data(x[ok], df).basis(x[ok])
    return out


def add_term_columns(table: pd.DataFrame, *sections) -> pd.DataFrame:
    """``table`` with the derived columns (splines, categories) of every covariates section given.

    The table itself is returned when no section asks for one; otherwise a copy. Rows with a missing
    value get a missing derived value (the models drop them with a note).
    """
    new: dict[str, object] = {}
    for cov in sections:
        if cov is None:
            continue
        for column in (AGE, CALENDAR_YEAR):
            form = _form(getattr(cov, column))
            if form is None or form[0] == "linear" or column not in table:
                continue
            names = _term_names(column, getattr(cov, column))
            if names[0] in new or names[0] in table:
                continue
            if form[0] == "categories":
                new[names[0]] = _bands(table[column], form[2])
            else:
                basis = _spline(table[column], form[1])
                for k, name in enumerate(names):
                    new[name] = basis[:, k]
    if not new:
        return table
    out = table.copy()
    for name, values in new.items():
        out[name] = values
    return out
