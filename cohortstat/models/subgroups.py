"""Hazard ratio of the exposure within each level of a subgroup variable, with the interaction test.

Choices (see docs/methods-designs.md):
- the by-level model is ``subgroup + exposure x 1[subgroup == k]`` plus the other covariates (R
  ``coxph(Surv(t, s) ~ subgroup + exposure:subgroup + ...)``), which has the likelihood of
  ``exposure * subgroup`` and gives each level's hazard ratio directly; the other covariates keep a
  common effect across levels;
- the interaction p-value is the likelihood-ratio test against ``exposure + subgroup + ...``
  (R ``anova(fit0, fit1)``, L - 1 df); the Wald test of equal coefficients is reported beside it and
  is the one to read for weighted or clustered fits;
- when ``strata`` is the subgroup variable its main effect is carried by the strata and not added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError

from ._design import check_columns, survival_arrays
from ._effect_modification import events_by, exposure_codes, fit_by_level, level_rows, model_columns
from ._results import TestResult
from .cox import CoxResult


@dataclass(frozen=True)
class SubgroupResult:
    """Result of :func:`subgroup_hazard_ratios` (frozen).

    Attributes
    ----------
    subgroup : the subgroup column.
    table : pandas.DataFrame, one row per level: ``subgroup, level, coef, se, hr, ci_lower, ci_upper,
        p, n, events_exposed, events_reference``.
    interaction_lr, interaction_wald : TestResult (L - 1 df) of no effect modification.
    common, by_level : CoxResult without and with the interaction.
    notes : what happened to the data.
    """

    subgroup: str
    table: pd.DataFrame
    interaction_lr: TestResult
    interaction_wald: TestResult
    common: CoxResult
    by_level: CoxResult
    notes: tuple[str, ...]


def subgroup_hazard_ratios(df: pd.DataFrame, duration: str, event: str, exposure: str, subgroup: str, *,
                           covariates: Sequence[str] = (), entry: str | None = None, strata: str | None = None,
                           weights: str | None = None, cluster: str | None = None, ties: str = "efron",
                           cause: int = 1, level: float = 0.95) -> SubgroupResult:
    """Hazard ratio of ``exposure`` per level of ``subgroup`` and the interaction likelihood-ratio test.

    Parameters
    ----------
    df : pandas.DataFrame, one row per subject (or per ``(entry, duration]`` interval).
    duration, event : exit time and event code (0 censored; ``cause`` modelled, other codes censored).
    exposure : 0/1 column (1 = exposed).
    subgroup : column whose levels (sorted; the first is the reference of its main effect) define the
        subgroups, e.g. an age band or sex. It is removed from ``covariates`` if listed there.
    covariates, entry, strata, weights, cluster, ties : as :meth:`cohortstat.models.CoxPH.fit`.
    level : confidence level of the intervals.

    Returns
    -------
    SubgroupResult

    Raises
    ------
    ModelInputError
        a subgroup with missing values, fewer than 2 levels, a level without exposed or reference
        subjects or without events, or anything :meth:`CoxPH.fit` rejects.
    """
    check_columns(df, [subgroup], "subgroup")
    s = df[subgroup]
    if s.isna().any():
        raise ModelInputError(f"subgroup column {subgroup!r} has {int(s.isna().sum())} missing value(s); "
                              "give them a level of their own or drop those rows")
    lev_codes, levels = pd.factorize(s, sort=True)
    if len(levels) < 2:
        raise ModelInputError(f"subgroup column {subgroup!r} has a single level; it cannot modify the effect")
    x = exposure_codes(df, exposure)
    t, e, _, _ = survival_arrays(df, duration, event, entry=entry)
    status = (e == cause).astype(float)
    ev = events_by(lev_codes, len(levels), x, status)
    n = events_by(lev_codes, len(levels), x, status, amount=np.ones(len(df)))
    for k, lev in enumerate(levels):
        if (n[k] == 0).any():
            raise ModelInputError(f"subgroup {subgroup}={lev!r} has no {'exposed' if n[k, 1] == 0 else 'reference'} "
                                  "subjects; its hazard ratio cannot be estimated - merge it with another level")
        if ev[k].sum() == 0:
            raise ModelInputError(f"subgroup {subgroup}={lev!r} has no events of cause {cause}; "
                                  "merge it with another level")
    notes = []
    covs = [c for c in covariates if c != subgroup]
    if len(covs) != len(covariates):
        notes.append(f"{subgroup!r} removed from covariates: it enters as the subgroup main effect")
    work = model_columns(df, [exposure, *covs], duration, event, strata, entry, weights, cluster)
    main: list[str] = []
    if strata != subgroup:
        work["__subgroup"] = _main_effect(levels, lev_codes)
        main = ["__subgroup"]
    fits = fit_by_level(work, lev_codes, len(levels), exposure, duration=duration, event=event, covariates=covs,
                        extra_common=main, strata=strata, entry=entry, weights=weights, cluster=cluster,
                        ties=ties, cause=cause)
    table = level_rows(fits, level)
    table.insert(0, "level", list(levels))
    table.insert(0, "subgroup", subgroup)
    table["n"] = n.sum(axis=1).astype(np.int64)
    table["events_exposed"], table["events_reference"] = ev[:, 1], ev[:, 0]
    if weights is not None or cluster is not None:
        notes.append("weighted or clustered fit: read the Wald test of interaction (the likelihood-ratio "
                     "test assumes independent unweighted rows)")
    notes.extend(fits.by_level.notes)
    return SubgroupResult(subgroup, table, fits.lr_test, fits.wald_test, fits.common, fits.by_level, tuple(notes))


def _main_effect(levels: pd.Index, lev_codes: np.ndarray) -> pd.Categorical:
    """The subgroup as a categorical of its levels' text, categories in level order: equal to
    ``pd.Categorical(levels.astype(str)[lev_codes], categories=[str(v) for v in levels])``, built from
    the codes (no text per row)."""
    labels = np.asarray(levels.astype(str))
    categories = [str(v) for v in levels]
    position = {c: k for k, c in enumerate(categories)}
    lookup = np.array([position.get(lab, -1) for lab in labels], dtype=np.int64)
    return pd.Categorical.from_codes(lookup[lev_codes], categories=categories)


def cut_bands(values, edges: Sequence[float]) -> pd.Categorical:
    """Cut a numeric column into user-defined bands ``[edge_k, edge_k+1)`` (R ``cut(right = FALSE)``).

    Parameters
    ----------
    values : array-like of numbers (e.g. age in years).
    edges : increasing band edges; use ``-inf``/``inf`` for open ends, e.g. ``[18, 50, 70, inf]``.

    Returns
    -------
    pandas.Categorical with ordered labels ``"[18, 50)"``, ``"[50, 70)"``, ``"[70, inf)"``.

    Raises
    ------
    ModelInputError
        edges not strictly increasing, or a value missing or outside every band.
    """
    e = np.asarray(edges, dtype=float)
    if e.size < 2 or np.isnan(e).any() or not (np.diff(e) > 0).all():
        raise ModelInputError(f"band edges must be at least two strictly increasing numbers, got {list(edges)}")
    v = np.asarray(values, dtype=float)
    k = np.searchsorted(e, v, side="right") - 1
    bad = np.isnan(v) | (k < 0) | (k >= e.size - 1)
    if bad.any():
        first = v[np.flatnonzero(bad)[0]]
        raise ModelInputError(f"{int(bad.sum())} value(s) outside the bands [{e[0]:g}, {e[-1]:g}) (first: {first:g}); "
                              "widen the first or last edge (-inf / inf allowed)")
    labels = [f"[{a:g}, {b:g})" for a, b in zip(e[:-1], e[1:])]
    return pd.Categorical.from_codes(k, categories=labels, ordered=True)
