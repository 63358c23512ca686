"""Nearest-neighbour matching on a score within a caliper, with exact matching on declared columns.

``match`` pairs each treated row with up to ``ratio`` reference ("control") rows, without replacement:

1. Rows are split into exact strata (every combination of the ``exact`` columns; one stratum if none).
2. Every row gets a *canonical rank*: the rank of a seeded 64-bit hash of its key (``key=``, by default
   the ``person_key`` column; the key itself breaks the - astronomically rare - hash ties). The rank
   depends on the key and the seed only, never on the row's position, which makes the result
   independent of the input row order.
3. Controls are sorted by (stratum, score, canonical rank); the "nearest available control" of a treated
   row is the nearest not-yet-matched control of its stratum (the one below wins a tie of distances).
4. Greedy matching in one of two orders:

   - ``order="closest"`` (default; the order of OHDSI CohortMethod's ``matchOnPs``): closest pair first.
     Every treated row proposes its nearest available control; proposals are served from a heap by
     (distance, canonical rank of the treated row, control position); a proposal whose control has been
     taken meanwhile is renewed with the treated row's next nearest available control.
   - ``order="largest"`` / ``"smallest"`` / ``"random"``: sequential greedy (MatchIt
     ``method="nearest"``, ``m.order``): treated rows visited by descending score, ascending score, or
     canonical rank, each taking its nearest available control.

   A pair is accepted when ``|score_t - score_c| <= caliper`` (inclusive; CohortMethod uses ``<``). With
   ``ratio = k`` the pass is repeated k times (every treated row takes its first control, then its second,
   ...); a treated row left without a control is not visited again and a matched set may hold fewer than
   k controls (variable ratio) when controls run short.
5. The caliper is ``caliper_sd`` times the standard deviation (``ddof=1``) of the score over all rows
   given, the "standardized logit" scale of Austin (2011) and CohortMethod.

The nearest available control is found in O(log n): a binary search on the sorted control scores, then two
disjoint-set ("next available to the left / right") look-ups with path halving. The kernels are compiled
(numba); there is no Python loop over patients. The pairs equal those of the named sequential algorithms
in the same order (tests check both against plain Python loops). They may differ from MatchIt's or
CohortMethod's where those break ties of equal distance by the row order of the data (here: a seeded
hash of the key) and where a pair lies exactly on the caliper. MatchIt's default order for a propensity
score is ``"largest"``; pass ``order="largest"`` to follow it. The default here is closest-first because
largest-first, where controls are scarce at high scores, lets early treated rows take controls from
below and leaves a systematic residual difference (see docs/methods-confounding.md).

References
----------
Austin PC. Optimal caliper widths for propensity-score matching when estimating differences in means and
differences in proportions in observational studies. Pharm Stat 2011;10(2):150-61.

Austin PC. A comparison of 12 algorithms for matching on the propensity score. Stat Med
2014;33(6):1057-69.

Ho DE, Imai K, King G, Stuart EA. MatchIt: nonparametric preprocessing for parametric causal inference.
J Stat Softw 2011;42(8):1-28.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError
from cohortstat.models._kernels.matching_kernels import _closest_kernel, _greedy_kernel

__all__ = ["MatchResult", "match", "canonical_rank"]

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrap-around arithmetic)."""
    x = np.asarray(x, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):
        x += np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


def canonical_rank(keys, seed: int = 0) -> np.ndarray:
    """Rank (0..n-1) of each key in the seeded hash order; independent of the order of ``keys``.

    The hash is SplitMix64 of pandas' value hash of the key mixed with the seed; keys must be unique.
    """
    s = pd.Series(np.asarray(keys) if not isinstance(keys, pd.Series) else keys.to_numpy(), copy=False)
    if s.isna().any():
        raise ModelInputError("the matching key has missing values; every row needs a unique key")
    if s.duplicated().any():
        raise ModelInputError("the matching key has duplicate values; pass a column unique per row")
    base = pd.util.hash_pandas_object(s, index=False).to_numpy().astype(np.uint64)
    seed_mix = _splitmix64(np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    h = _splitmix64(base ^ seed_mix)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    if (hs[1:] == hs[:-1]).any():
        # break hash ties by the key itself (sorted order of the key values)
        codes, _ = pd.factorize(s, sort=True)
        order = np.lexsort((codes, h))
    rank = np.empty(len(s), dtype=np.int64)
    rank[order] = np.arange(len(s), dtype=np.int64)
    return rank



@dataclass(frozen=True, eq=False)
class MatchResult:
    """Result of :func:`match` (immutable).

    Attributes
    ----------
    matched_set : numpy.ndarray
        Per input row (input order): the matched-set id (0..n_sets-1) or -1 when unmatched. Set ids
        follow the canonical visiting order, so they do not depend on the input row order either.
    treatment : numpy.ndarray
        1 treated, 0 control, per input row.
    caliper : float or None
        The caliper on the score scale (None: no caliper).
    ratio : int
        Requested number of controls per treated row.
    n_treated, n_control, n_matched_treated, n_matched_control, n_sets : int
    notes : tuple of str
    """

    matched_set: np.ndarray = field(repr=False)
    treatment: np.ndarray = field(repr=False)
    caliper: float | None
    ratio: int
    n_treated: int
    n_control: int
    n_matched_treated: int
    n_matched_control: int
    n_sets: int
    notes: tuple[str, ...] = ()

    @property
    def matched(self) -> np.ndarray:
        """Boolean mask of matched rows (input order)."""
        return self.matched_set >= 0

    @property
    def weights(self) -> np.ndarray:
        """Matching weights per row: 0 unmatched, 1 matched treated, ``1/m`` for each of the ``m``
        controls of a set, rescaled so that control weights sum to the number of matched controls
        (MatchIt's convention). All matched weights are 1 when every set is complete."""
        w = np.zeros(self.matched_set.size)
        ms = self.matched_set
        is_c = (self.treatment == 0) & (ms >= 0)
        w[(self.treatment == 1) & (ms >= 0)] = 1.0
        if is_c.any():
            m = np.bincount(ms[is_c], minlength=self.n_sets).astype(float)
            wc = 1.0 / m[ms[is_c]]
            w[is_c] = wc * (is_c.sum() / wc.sum())
        return w

    def summary(self) -> str:
        """A text summary: matched and unmatched counts, set sizes, caliper and notes."""
        cal = "none" if self.caliper is None else f"{self.caliper:.4g}"
        lines = [f"Matching 1:{self.ratio}, caliper {cal}: {self.n_sets} matched sets", "",
                 self.counts().to_string(index=False), "", self.set_sizes().to_string(index=False)]
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  - {n}" for n in self.notes)
        return "\n".join(lines)

    def counts(self) -> pd.DataFrame:
        """Persons matched and unmatched per group: ``group, n_total, n_matched, n_unmatched``."""
        return pd.DataFrame(
            {
                "group": ["treated", "control"],
                "n_total": [self.n_treated, self.n_control],
                "n_matched": [self.n_matched_treated, self.n_matched_control],
                "n_unmatched": [
                    self.n_treated - self.n_matched_treated,
                    self.n_control - self.n_matched_control,
                ],
            }
        )

    def set_sizes(self) -> pd.DataFrame:
        """Number of matched sets by number of controls: ``n_controls, n_sets``."""
        is_c = (self.treatment == 0) & (self.matched_set >= 0)
        m = np.bincount(self.matched_set[is_c], minlength=self.n_sets)
        sizes, n = np.unique(m, return_counts=True)
        return pd.DataFrame({"n_controls": sizes.astype(np.int64), "n_sets": n.astype(np.int64)})


def _stratum_ids(df: pd.DataFrame, exact) -> np.ndarray:
    if not exact:
        return np.zeros(len(df), dtype=np.int64)
    cols = []
    for name in exact:
        if name not in df.columns:
            raise ModelInputError(f"exact-matching column {name!r} is not in the data")
        if df[name].isna().any():
            raise ModelInputError(f"exact-matching column {name!r} has missing values; impute or drop them")
        cols.append(name)
    # ngroup with sort=True numbers strata by sorted value: independent of row order
    return df.groupby(cols, sort=True, observed=True).ngroup().to_numpy().astype(np.int64)


def match(
    df: pd.DataFrame,
    *,
    treatment: str,
    score: str | None = None,
    exact=(),
    ratio: int = 1,
    caliper_sd: float | None = 0.2,
    seed: int = 0,
    key: str | None = "person_key",
    order: Literal["closest", "largest", "smallest", "random"] = "closest",
) -> MatchResult:
    """Greedy 1:k nearest-neighbour matching without replacement, within a caliper and exact strata.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per person.
    treatment : str
        Column coded 1 (treated) / 0 (control).
    score : str, optional
        Column of the matching score, normally the logit of the propensity score. None: exact matching
        only (controls drawn in the seeded canonical order within each exact stratum).
    exact : sequence of str
        Columns on which matched rows must agree exactly.
    ratio : int
        Controls per treated row (k >= 1).
    caliper_sd : float or None
        Caliper in standard deviations of the score over all rows; None for no caliper. Ignored when
        ``score`` is None.
    seed : int
        Seed of the hash that breaks ties and defines the canonical order.
    key : str or None
        Column with a stable, unique id per row (``person_key``). None uses the DataFrame index, which
        then must be unique and carried with the rows for the result to be order-independent.
    order : {"closest", "largest", "smallest", "random"}
        Closest pair first (CohortMethod), or sequential greedy visiting treated rows by descending
        score (MatchIt's default for a propensity score), ascending score, or seeded random order.

    Returns
    -------
    MatchResult

    Raises
    ------
    ModelInputError
        Unknown column, missing or non-finite values, treatment not 0/1, duplicate keys, bad settings.

    References
    ----------
    Austin PC. Pharm Stat 2011;10(2):150-61 (caliper of 0.2 SD of the logit of the propensity score).
    Ho DE, Imai K, King G, Stuart EA. J Stat Softw 2011;42(8) (greedy nearest-neighbour matching).
    """
    from cohortstat.models.weighting import _treatment_array

    exact = _check_options(ratio, caliper_sd, order, exact)
    if treatment not in df.columns:
        raise ModelInputError(f"treatment column {treatment!r} is not in the data")
    t = _treatment_array(df[treatment].to_numpy(), treatment)
    n = t.size
    if key is None:
        keys = df.index.to_numpy()
    else:
        if key not in df.columns:
            raise ModelInputError(
                f"key column {key!r} is not in the data; pass key= a unique per-row id column "
                "(or key=None to use the index)"
            )
        keys = df[key].to_numpy()
    rank = canonical_rank(keys, seed) if n else np.empty(0, np.int64)
    notes: list[str] = []
    x, caliper = _score_and_caliper(df, score, caliper_sd, n, notes)
    stratum = _stratum_ids(df, exact)
    n_strata = int(stratum.max()) + 1 if n else 0
    matched_set, count, n_mc = _run_kernel(t, x, rank, stratum, n_strata, order, ratio, caliper)
    n_sets = int((count > 0).sum())
    if ratio > 1:
        short = int(((count > 0) & (count < ratio)).sum())
        if short:
            notes.append(f"{short} matched sets have fewer than {ratio} controls (variable ratio)")
    if exact:
        notes.append(f"exact matching on {', '.join(exact)}: {n_strata} strata")
    is_t = t == 1
    return MatchResult(
        matched_set=matched_set,
        treatment=t,
        caliper=caliper,
        ratio=int(ratio),
        n_treated=int(is_t.sum()),
        n_control=int((~is_t).sum()),
        n_matched_treated=n_sets,
        n_matched_control=n_mc,
        n_sets=n_sets,
        notes=tuple(notes),
    )


def _check_options(ratio, caliper_sd, order, exact) -> tuple:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 1:
        raise ModelInputError(f"ratio must be an integer >= 1, got {ratio!r}")
    if caliper_sd is not None and not (np.isfinite(caliper_sd) and caliper_sd > 0):
        raise ModelInputError(f"caliper_sd must be a positive number or None, got {caliper_sd!r}")
    if order not in ("closest", "largest", "smallest", "random"):
        raise ModelInputError(f"order must be 'closest', 'largest', 'smallest' or 'random', got {order!r}")
    return (exact,) if isinstance(exact, str) else tuple(exact)


def _score_and_caliper(df, score, caliper_sd, n, notes) -> tuple[np.ndarray, float | None]:
    """The matching score (0 without one) and the caliper on its scale (caliper_sd times its SD)."""
    if score is None:
        return np.zeros(n), None
    if score not in df.columns:
        raise ModelInputError(f"score column {score!r} is not in the data")
    x = pd.to_numeric(df[score], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise ModelInputError(
            f"score column {score!r} has missing or infinite values (a propensity score of 0 or 1?)"
        )
    if caliper_sd is None:
        return x, None
    sd = float(np.std(x, ddof=1)) if n > 1 else 0.0
    caliper = float(caliper_sd) * sd
    notes.append(f"caliper {caliper_sd:g} SD of the score = {caliper:.6g}")
    return x, caliper


def _run_kernel(t, x, rank, stratum, n_strata, order, ratio, caliper):
    """Sort controls and treated, run the compiled kernel: (matched_set per row, count per treated, n controls)."""
    n = t.size
    is_t = t == 1
    c_idx = np.flatnonzero(~is_t)
    t_idx = np.flatnonzero(is_t)
    # controls: sorted by (stratum, score, canonical rank)
    c_order = c_idx[np.lexsort((rank[c_idx], x[c_idx], stratum[c_idx]))]
    c_str = stratum[c_order]
    s_start = np.searchsorted(c_str, np.arange(n_strata), side="left").astype(np.int64)
    s_end = np.searchsorted(c_str, np.arange(n_strata), side="right").astype(np.int64)
    # treated: visiting order
    if order == "largest":
        t_order = t_idx[np.lexsort((rank[t_idx], -x[t_idx]))]
    elif order == "smallest":
        t_order = t_idx[np.lexsort((rank[t_idx], x[t_idx]))]
    else:  # closest (ties by canonical rank) and random
        t_order = t_idx[np.argsort(rank[t_idx], kind="stable")]
    cal = np.inf if caliper is None else caliper
    kernel = _closest_kernel if order == "closest" else _greedy_kernel
    owner, count = kernel(np.ascontiguousarray(x[c_order]), s_start, s_end, np.ascontiguousarray(stratum[t_order]),
                          np.ascontiguousarray(x[t_order]), int(ratio), float(cal))
    # set ids: matched treated numbered in visiting order
    got = count > 0
    set_of_t = np.full(t_order.size, -1, np.int64)
    set_of_t[got] = np.arange(int(got.sum()), dtype=np.int64)
    matched_set = np.full(n, -1, np.int64)
    matched_set[t_order] = set_of_t
    has_owner = owner >= 0
    matched_set[c_order[has_owner]] = set_of_t[owner[has_owner]]
    return matched_set, count, int(has_owner.sum())
