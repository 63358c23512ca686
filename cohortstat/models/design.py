"""One design object for every regression model: how each covariate column becomes design columns.

:class:`DesignSpec` is learnt once from the fitting data (:meth:`DesignSpec.from_frame`) and then
rebuilds the same design matrix for any frame with those columns (:meth:`DesignSpec.matrix`): new
data for predictions get exactly the fitted terms. CoxPH, FineGray and the propensity-score model
all use it, so the same frame gives the same terms and reference levels in every model.

Coding rules (R's ``model.matrix`` with treatment contrasts):

* **numeric** columns (integer or float dtype) enter as they are; the term is the column name.
* **bool** columns (``bool`` or nullable ``boolean`` dtype, or an ``object`` column holding only
  True/False) are a two-level factor with reference ``False``; the term is ``column[True]``.
* **categorical** columns are one indicator per non-reference level, terms ``column[level]``:

  - pandas ``Categorical``: levels in category order (the first observed category is the
    reference), restricted to the categories present in the data (R would report an unused
    level's coefficient as NA);
  - ``object`` / ``string`` columns: the sorted observed values. An ``object`` column holding
    numbers (for example integer codes read as text-free objects) is categorical too, as an R
    character or factor column is, with its levels sorted *numerically* (2 before 10); to use such
    a column as a number, convert it first (``df[c] = pd.to_numeric(df[c])``).

* **missing values**: ``missing="drop"`` (default) drops the rows with a missing value in any
  column the model uses (covariates, time, event, strata, weights, cluster, entry) and the
  estimator adds a note with the count, as R's ``na.omit``; ``missing="raise"`` raises
  :class:`~cohortstat.errors.ModelInputError` naming the column and the count.

A covariate with a single observed level is refused (R would report its coefficient as NA).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError

MISSING_POLICIES = ("drop", "raise")
Kind = Literal["numeric", "bool", "categorical"]

__all__ = ["ColumnSpec", "DesignSpec", "complete_rows"]


@dataclass(frozen=True)
class ColumnSpec:
    """How one input column is coded.

    Attributes
    ----------
    name : str
        The input column.
    kind : {'numeric', 'bool', 'categorical'}
    levels : tuple
        All levels, the reference first (empty for numeric columns).
    """

    name: str
    kind: Kind
    levels: tuple = ()

    @property
    def reference(self):
        """The reference level (None for a numeric column)."""
        return self.levels[0] if self.levels else None

    @property
    def terms(self) -> tuple[str, ...]:
        """The design-column names of this input column."""
        if self.kind == "numeric":
            return (self.name,)
        return tuple(f"{self.name}[{lev}]" for lev in self.levels[1:])


def check_missing_policy(missing: str) -> str:
    if missing not in MISSING_POLICIES:
        raise ModelInputError(f"missing must be 'drop' or 'raise', got {missing!r}")
    return missing


def check_frame(df, names: Sequence[str], role: str = "model") -> None:
    """Raise if ``df`` is not a DataFrame or lacks a named column."""
    if not isinstance(df, pd.DataFrame):
        raise ModelInputError(f"expected a pandas DataFrame, got {type(df).__name__}; pass df=pandas.DataFrame(...)")
    absent = [c for c in names if c not in df.columns]
    if absent:
        raise ModelInputError(f"{role} column(s) {absent} not found in the data; available columns are {list(df.columns)[:30]}")


def as_list(names) -> list:
    """A column name or a sequence of names as a list (None -> [])."""
    if names is None:
        return []
    return [names] if isinstance(names, str) else list(names)


def check_roles(df, **roles) -> list[str]:
    """Check every named column exists (the error names its role); returns all of them, in order."""
    used = []
    for role, names in roles.items():
        names = [n for n in as_list(names) if n is not None]
        check_frame(df, names, role)
        used.extend(names)
    return used


def complete_rows(df: pd.DataFrame, columns: Sequence[str], missing: str = "drop") -> tuple[np.ndarray | None, str | None]:
    """Rows without a missing value in ``columns``: (boolean mask or None when all are complete, note).

    With ``missing="raise"`` a missing value raises, naming the column and the count.
    """
    check_missing_policy(missing)
    columns = [c for c in dict.fromkeys(columns) if c is not None]
    check_frame(df, columns)
    keep = None
    counts = {}
    for c in columns:
        na = df[c].isna().to_numpy()
        if na.any():
            counts[c] = int(na.sum())
            keep = ~na if keep is None else keep & ~na
    if keep is None:
        return None, None
    if missing == "raise":
        c, k = next(iter(counts.items()))
        raise ModelInputError(
            f"column {c!r} has {k} missing value(s) (first at row {int(np.flatnonzero(df[c].isna().to_numpy())[0])}); "
            "drop or impute those rows, or pass missing='drop'"
        )
    n_drop = int((~keep).sum())
    if n_drop == len(df):
        raise ModelInputError(f"every row has a missing value in {list(counts)}; nothing left to fit")
    detail = ", ".join(f"{c} {k}" for c, k in counts.items())
    return keep, f"{n_drop} row(s) dropped for missing values ({detail})"


def _all_bool(values) -> bool:
    return len(values) > 0 and all(isinstance(v, (bool, np.bool_)) for v in values)


def _sort_levels(values: list) -> list:
    """Sorted levels: numerically when every value is a number, else by their text."""
    if all(isinstance(v, numbers.Number) and not isinstance(v, (bool, np.bool_)) for v in values):
        return sorted(values)
    return sorted(values, key=str)


def column_spec(s: pd.Series, name: str) -> ColumnSpec:
    """Learn the coding of one column (no missing values expected)."""
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        kind, levels = "bool", [False, True]
        present = set(pd.unique(s.dropna()).tolist())
        levels = [lv for lv in levels if lv in present]
    elif isinstance(dtype, pd.CategoricalDtype):
        present = set(pd.unique(s.cat.codes.to_numpy()).tolist()) - {-1}
        levels = [c for k, c in enumerate(s.cat.categories) if k in present]
        kind = "categorical"
    elif pd.api.types.is_numeric_dtype(dtype):
        return ColumnSpec(name, "numeric")
    elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        found = pd.unique(s.dropna()).tolist()
        if _all_bool(found):
            kind, levels = "bool", [lv for lv in (False, True) if lv in found]
        else:
            kind, levels = "categorical", _sort_levels(found)
    else:
        raise ModelInputError(
            f"covariate {name!r} has unsupported dtype {dtype}; use a numeric, boolean, string or category column"
        )
    if len(levels) < 2:
        raise ModelInputError(
            f"covariate {name!r} has a single level {levels!r}; remove it from covariates "
            "(R would report its coefficient as NA)"
        )
    return ColumnSpec(name, kind, tuple(levels))


def _level_codes(s: pd.Series, col: ColumnSpec) -> np.ndarray:
    """Code of each row's level in ``col.levels`` (raises on a level the fit did not see)."""
    position = {lev: k for k, lev in enumerate(col.levels)}
    if isinstance(s.dtype, pd.CategoricalDtype):
        raw, uniques = s.cat.codes.to_numpy().astype(np.int64), list(s.cat.categories)
    else:
        raw, uniques = pd.factorize(s)
        uniques = list(uniques)
    lookup = np.array([position.get(u, -1) for u in uniques] + [-2], dtype=np.int64)
    code = lookup[np.where(raw < 0, len(uniques), raw)]
    if (code < 0).any():
        bad = code < 0
        first = int(np.flatnonzero(bad)[0])
        if (code == -2).any():
            raise ModelInputError(f"covariate {col.name!r} has missing values (first at row {first}); drop those rows")
        raise ModelInputError(
            f"covariate {col.name!r} has level {s.iloc[first]!r} not seen when the model was fitted "
            f"(levels {list(col.levels)}); drop those rows or refit"
        )
    return code


def numeric_values(s: pd.Series, name: str, role: str = "covariate") -> np.ndarray:
    """A numeric column as float64, rejecting NaN and infinities."""
    if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
        raise ModelInputError(f"{role} column {name!r} must be numeric, got dtype {s.dtype}")
    a = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ModelInputError(
            f"{role} column {name!r} has {int(bad.sum())} missing or infinite value(s) "
            f"(first at row {int(np.flatnonzero(bad)[0])}); drop or impute those rows before fitting"
        )
    return a


@dataclass(frozen=True)
class DesignSpec:
    """The coding of every covariate column, learnt from the fitting data.

    Attributes
    ----------
    columns : tuple of ColumnSpec
        One per input covariate, in the order given.
    missing : {'drop', 'raise'}
        The missing-value policy the model was fitted with.

    Examples
    --------
    >>> spec = DesignSpec.from_frame(df, ["exposure", "age_band", "female"])   # doctest: +SKIP
    >>> spec.terms                                                             # doctest: +SKIP
    ('exposure', 'age_band[40-64]', 'age_band[65+]', 'female[True]')
    >>> X = spec.matrix(new_df)                                                # doctest: +SKIP
    """

    columns: tuple[ColumnSpec, ...]
    missing: str = "drop"

    @classmethod
    def from_frame(cls, df: pd.DataFrame, covariates: Sequence[str], missing: str = "drop") -> DesignSpec:
        """Learn the coding of ``covariates`` from ``df`` (rows with a missing covariate are ignored
        with ``missing='drop'``; with ``'raise'`` they raise)."""
        check_missing_policy(missing)
        if isinstance(covariates, str):
            covariates = [covariates]
        covariates = list(covariates)
        if not covariates:
            raise ModelInputError("covariates is empty; give at least one covariate column")
        if len(set(covariates)) != len(covariates):
            raise ModelInputError(f"covariates lists a column twice: {covariates}")
        check_frame(df, covariates, "covariate")
        keep, _ = complete_rows(df, covariates, missing)
        sub = df if keep is None else df.loc[keep]
        return cls(tuple(column_spec(sub[c], c) for c in covariates), missing)

    @property
    def names(self) -> tuple[str, ...]:
        """The input covariate columns."""
        return tuple(c.name for c in self.columns)

    @property
    def terms(self) -> tuple[str, ...]:
        """The design-column names, in order."""
        return tuple(t for c in self.columns for t in c.terms)

    @property
    def references(self) -> dict:
        """Reference level of every bool / categorical column."""
        return {c.name: c.reference for c in self.columns if c.kind != "numeric"}

    @property
    def term_columns(self) -> dict[str, tuple[int, ...]]:
        """Input column -> indices of its design columns."""
        out, j = {}, 0
        for c in self.columns:
            k = len(c.terms)
            out[c.name] = tuple(range(j, j + k))
            j += k
        return out

    def matrix(self, df: pd.DataFrame) -> np.ndarray:
        """The (uncentred) design matrix of ``df``: float64, column-major, one column per term."""
        check_frame(df, self.names, "covariate")
        X = np.empty((len(df), len(self.terms)), order="F")
        j = 0
        for c in self.columns:
            s = df[c.name]
            if c.kind == "numeric":
                X[:, j] = numeric_values(s, c.name)
                j += 1
                continue
            code = _level_codes(s, c)
            for k in range(1, len(c.levels)):
                np.equal(code, k, out=X[:, j], casting="unsafe")
                j += 1
        return X

    def describe(self) -> pd.DataFrame:
        """One row per input column: ``column, kind, reference, terms``."""
        return pd.DataFrame(
            {
                "column": [c.name for c in self.columns],
                "kind": [c.kind for c in self.columns],
                "reference": [c.reference for c in self.columns],
                "terms": [", ".join(c.terms) for c in self.columns],
            }
        )
