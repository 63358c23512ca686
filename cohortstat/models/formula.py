"""R-style model formulas for CoxPH and FineGray, built on formulaic.

``CoxPH.from_formula("Surv(time, event) ~ exposure * age_band + C(sex) + strata(site)", df)`` fits the
same model as the column API: the right-hand side is expanded by formulaic (interactions ``a:b`` and
``a * b``, ``C(x)``, splines ``bs(x, df=3)`` and ``cr(x, df=4)``, arithmetic such as ``np.log(x)``)
with R's treatment contrasts, and the intercept is dropped afterwards as R's ``coxph`` does.
A spline basis that sums to one (formulaic's ``cr``) is collinear with the baseline hazard: write
``cr(x, df=4, constraints='center')``, as mgcv centres its smooths.

Left-hand sides
---------------
* ``Surv(time, event)`` and ``Surv(entry, time, event)`` (counting-process form) for CoxPH;
* ``Crr(time, status, cause=1)`` (also ``failcode=``) for FineGray, or ``Surv(time, status)`` with
  the model's ``cause``.

Special terms on the right: ``strata(a)`` / ``strata(a, b)`` (CoxPH strata), ``cluster(id)``
(robust variance clustered on ``id``) and ``offset(col)`` (CoxPH offset; a column name). Term names follow the column API: ``age_band[40-64]``,
``sex[M]``, ``exposure:age_band[40-64]``; bool columns are factors with reference False
(``flag[True]``), as everywhere in cohortstat. Missing values follow the model's ``missing`` policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError
from cohortstat.models.design import check_missing_policy, complete_rows

__all__ = ["FormulaDesign", "parse_formula"]

_LHS = re.compile(r"^\s*(Surv|Crr)\s*\((.*)\)\s*$", re.S)
_SPECIAL = re.compile(r"\b(strata|cluster|offset)\s*\(([^()]*)\)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass(frozen=True)
class ParsedFormula:
    """The parts of a survival formula."""

    kind: str  # 'Surv' or 'Crr'
    time: str
    event: str
    entry: str | None
    cause: int | None
    rhs: str
    strata: tuple[str, ...]
    cluster: str | None
    offset: str | None = None


def _split_args(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


def parse_formula(formula: str) -> ParsedFormula:
    """Split ``LHS ~ RHS`` into the survival columns, the special terms and the formulaic part."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ModelInputError(f"a formula needs one '~', e.g. 'Surv(time, event) ~ exposure + age'; got {formula!r}")
    lhs, rhs = formula.split("~")
    m = _LHS.match(lhs)
    if not m:
        raise ModelInputError(f"the left-hand side must be Surv(time, event), Surv(entry, time, event) or "
                              f"Crr(time, status, cause=1); got {lhs.strip()!r}")
    kind, args = m.group(1), _split_args(m.group(2))
    cause = None
    named = [a for a in args if "=" in a]
    args = [a for a in args if "=" not in a]
    for a in named:
        key, val = (s.strip() for s in a.split("=", 1))
        if kind != "Crr" or key not in ("cause", "failcode"):
            raise ModelInputError(f"unknown option {a!r} in {kind}(); Crr() takes cause=")
        cause = int(val)
    entry = None
    if kind == "Surv" and len(args) == 3:
        entry, time, event = args
    elif len(args) == 2:
        time, event = args
    else:
        raise ModelInputError(f"{kind}() takes (time, event){' or (entry, time, event)' if kind == 'Surv' else ''}; "
                              f"got {m.group(2)!r}")
    strata: list[str] = []
    single: dict[str, str] = {}
    for fn, inner in _SPECIAL.findall(rhs):
        names = _split_args(inner)
        if fn == "strata":
            strata.extend(names)
        else:
            if len(names) != 1 or not _NAME.fullmatch(names[0]):
                raise ModelInputError(f"{fn}() takes one column name (compute transformations beforehand)")
            single[fn] = names[0]
    rest = _SPECIAL.sub("", rhs)
    rest = re.sub(r"\+\s*(?=\+|$)", "", rest.strip())
    rest = re.sub(r"^\s*\+", "", rest).strip()
    if not rest:
        raise ModelInputError("the formula has no covariate on the right-hand side")
    return ParsedFormula(kind, time, event, entry, cause, rest, tuple(strata), single.get("cluster"),
                         single.get("offset"))


def _rename(col: str) -> str:
    """formulaic's 'x[T.a]' -> 'x[a]' and 'C(x)[T.a]' -> 'x[a]' (cohortstat's term names)."""
    col = re.sub(r"\bC\(\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\)", r"\1", col)
    return re.sub(r"\[T\.", "[", col)


def _prepare_frame(df: pd.DataFrame, names: list[str], fitting: bool) -> pd.DataFrame:
    """The columns formulaic reads, with bool columns as False/True factors (cohortstat's rule) and,
    when fitting, unused categories removed (as the column API does)."""
    out = {}
    for c in names:
        s = df[c]
        if pd.api.types.is_bool_dtype(s.dtype):
            s = pd.Series(pd.Categorical(s.astype(object), categories=[False, True]), index=s.index)
        elif fitting and isinstance(s.dtype, pd.CategoricalDtype):
            s = s.cat.remove_unused_categories()
        out[c] = s
    return pd.DataFrame(out, index=df.index)


@dataclass(frozen=True)
class FormulaDesign:
    """The design of a formula fit: rebuilds the model matrix for new data (as DesignSpec does).

    Attributes
    ----------
    formula : str
        The right-hand side expanded by formulaic.
    terms : tuple of str
        The design-column names.
    term_columns : dict
        Formula term label (``'exposure:age_band'``, ``'bs(age, df=3)'``) -> indices of its columns.
    missing : str
        The missing-value policy of the fit.
    """

    formula: str
    terms: tuple[str, ...]
    term_columns: dict
    names: tuple[str, ...]
    missing: str = "drop"
    model_spec: Any = field(default=None, repr=False, compare=False)

    @property
    def references(self) -> dict:
        return {}

    def matrix(self, df: pd.DataFrame) -> np.ndarray:
        """The (uncentred) design matrix of new data: float64, one column per term."""
        missing = [c for c in self.names if c not in df.columns]
        if missing:
            raise ModelInputError(f"covariate column(s) {missing} not found in the data")
        mm = self.model_spec.get_model_matrix(_prepare_frame(df, list(self.names), False), na_action="raise")
        cols = [c for c in mm.columns if c != "Intercept"]
        return np.asfortranarray(mm[cols].to_numpy(dtype=float))


def build(formula: str, df: pd.DataFrame, missing: str, extra=()) -> tuple[ParsedFormula, pd.DataFrame, FormulaDesign, list]:
    """Parse, drop incomplete rows (the model's policy) and expand the right-hand side.

    Returns the parsed formula, a frame with the survival/strata/cluster columns and one numeric
    column per design term (input index), the design, and the notes.
    """
    import formulaic

    check_missing_policy(missing)
    if not isinstance(df, pd.DataFrame):
        raise ModelInputError(f"expected a pandas DataFrame, got {type(df).__name__}")
    pf = parse_formula(formula)
    names = [n for n in dict.fromkeys(_NAME.findall(pf.rhs)) if n in df.columns]
    special = [c for c in (pf.entry, pf.time, pf.event, *pf.strata, pf.cluster, pf.offset, *extra) if c is not None]
    absent = [c for c in special if c not in df.columns]
    if absent:
        raise ModelInputError(f"column(s) {absent} of the formula not found in the data")
    keep, note = complete_rows(df, [*names, *special], missing)
    sub = df if keep is None else df.loc[keep]
    try:
        mm = formulaic.model_matrix(pf.rhs, _prepare_frame(sub, names, True), na_action="raise")
    except Exception as exc:  # formulaic raises many types; say which formula failed
        raise ModelInputError(f"could not expand the formula right-hand side {pf.rhs!r}: {exc}") from exc
    spec = mm.model_spec
    cols = list(mm.columns)
    keep_cols = [j for j, c in enumerate(cols) if c != "Intercept"]
    terms = tuple(_rename(cols[j]) for j in keep_cols)
    if len(set(terms)) != len(terms):
        raise ModelInputError(f"the formula gives duplicate design columns {terms}")
    position = {j: k for k, j in enumerate(keep_cols)}
    groups = {}
    for term, idx in spec.term_indices.items():
        kept = tuple(position[j] for j in idx if j in position)
        if kept:
            groups[_rename(str(term))] = kept
    design = FormulaDesign(pf.rhs, terms, groups, tuple(names), missing, spec)
    frame = pd.DataFrame(np.asarray(mm.to_numpy(dtype=float))[:, keep_cols], columns=list(terms), index=sub.index)
    clash = [c for c in special if c in frame.columns]
    if clash:
        raise ModelInputError(f"design term(s) {clash} clash with survival columns; rename them")
    for c in dict.fromkeys(special):
        frame[c] = sub[c].to_numpy()
    return pf, frame, design, [] if note is None else [note]


def strata_option(pf: ParsedFormula):
    """The ``strata=`` option of the column API for the formula's strata() terms."""
    if not pf.strata:
        return None
    return pf.strata[0] if len(pf.strata) == 1 else list(pf.strata)
