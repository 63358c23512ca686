"""Standardized incidence ratio (SIR): observed events against those expected from reference rates.

The follow-up of each person is split where it crosses an age band or a calendar year (Lexis
splitting on two time scales, as R ``Epi::splitLexis`` / ``popEpi::splitMulti`` or two successive
``survival::survSplit`` calls); each piece contributes ``rate(age band, sex, year) x person-years``
to the expected count. The SIR is observed / expected with the exact Poisson confidence interval and
two-sided p-value of R ``poisson.test(observed, expected)``.

Choices (see docs/methods-designs.md):
- times are in days; a person-year is ``days_per_year`` days (365.25); ``age`` is the age in years at
  follow-up start and grows with follow-up; a calendar year starts on 1 January of ``entry_date + t``;
- an age band ``[age_start, age_end)`` includes its lower bound; a piece is classified by its midpoint;
- an event is counted in the stratum of its time (the last piece of the person's follow-up);
- every stratum the follow-up passes through must have a rate, otherwise a ``ModelInputError`` names it.

References
----------
Breslow NE, Day NE (1987). Statistical Methods in Cancer Research, vol. II: The Design and Analysis of
Cohort Studies. IARC Sci Publ 82, chapters 2-3.
Ulm K (1990). A simple method to calculate the confidence interval of a standardized mortality
ratio. Am J Epidemiol 131:373-375.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.errors import ModelInputError

from ._design import check_columns, survival_arrays
from ._kernels.lexis import lexis_pieces

CHUNK = 100_000
RATE_COLUMNS = ("age_start", "age_end", "sex", "rate")


def poisson_exact(observed: int, expected: float, level: float = 0.95) -> tuple[float, float, float]:
    """Exact Poisson ``(ci_lower, ci_upper, p)`` of the ratio observed / expected (R ``poisson.test``).

    The interval is ``qgamma(a/2, O) / E`` to ``qgamma(1 - a/2, O + 1) / E`` (lower 0 when O = 0);
    the two-sided p-value sums the probabilities of the counts no more likely than ``O`` under
    Poisson(E) (with R's relative tolerance 1e-7).
    """
    o, m = int(observed), float(expected)
    if o < 0 or not m > 0:
        raise ModelInputError(f"need observed >= 0 and expected > 0, got {observed}, {expected}")
    a = (1.0 - level) / 2.0
    lo = 0.0 if o == 0 else float(stats.gamma.ppf(a, o)) / m
    hi = float(stats.gamma.ppf(1.0 - a, o + 1)) / m
    return lo, hi, _poisson_two_sided_p(o, m)


def _poisson_two_sided_p(o: int, m: float) -> float:
    d = stats.poisson.pmf(o, m) * (1.0 + 1e-7)
    if o == m:
        return 1.0
    if o < m:  # other tail: counts k >= ceil(m) with pmf(k) <= d
        hi = int(np.ceil(2 * m - o))
        while stats.poisson.pmf(hi, m) > d:
            hi *= 2
        k = np.arange(int(np.ceil(m)), hi + 1)
        n_like = int((stats.poisson.pmf(k, m) <= d).sum())
        return float(min(1.0, stats.poisson.cdf(o, m) + stats.poisson.sf(hi - n_like, m)))
    k = np.arange(0, int(np.floor(m)) + 1)
    n_like = int((stats.poisson.pmf(k, m) <= d).sum())
    return float(min(1.0, stats.poisson.cdf(n_like - 1, m) + stats.poisson.sf(o - 1, m)))


@dataclass(frozen=True)
class SIRResult:
    """Result of :func:`standardized_incidence_ratio` (frozen).

    Attributes
    ----------
    table : pandas.DataFrame, one row per group: ``group, observed, expected, sir, ci_lower,
        ci_upper, p, person_years``.
    strata : pandas.DataFrame, one row per group x stratum met: ``group, age_start, age_end, sex,
        [year,] person_years, observed, expected``.
    notes : what happened to the data.
    """

    table: pd.DataFrame
    strata: pd.DataFrame
    notes: tuple[str, ...]


def _check_rates(rates: pd.DataFrame, rate_per: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Validated rates indexed by (band, sex[, year]); band starts and ends (sorted)."""
    if not isinstance(rates, pd.DataFrame):
        raise ModelInputError("rates must be a pandas DataFrame with columns age_start, age_end, sex, [year,] rate")
    missing = [c for c in RATE_COLUMNS if c not in rates.columns]
    if missing:
        raise ModelInputError(f"the reference rates lack column(s) {missing}; "
                              "expected age_start, age_end, sex, [year,] rate")
    if not rate_per > 0:
        raise ModelInputError(f"rate_per must be > 0 (e.g. 100000 for rates per 100,000 person-years), got {rate_per}")
    r = rates.copy()
    num = ["age_start", "age_end", "rate"] + (["year"] if "year" in r else [])
    for c in num:
        v = pd.to_numeric(r[c], errors="coerce")
        if v.isna().any() or (c != "age_end" and not np.isfinite(v).all()):
            raise ModelInputError(f"reference-rate column {c!r} has missing or non-numeric values")
        r[c] = v
    if "year" in r:
        if (r["year"] != np.round(r["year"])).any():
            raise ModelInputError("reference-rate column 'year' must hold whole calendar years")
        r["year"] = r["year"].astype(np.int64)
    if (r["rate"] < 0).any() or not (r["age_end"] > r["age_start"]).all():
        raise ModelInputError("reference rates need rate >= 0 and age_start < age_end in every row")
    bands = r[["age_start", "age_end"]].drop_duplicates().sort_values("age_start").to_numpy(float)
    if (bands[1:, 0] < bands[:-1, 1]).any():
        k = int(np.flatnonzero(bands[1:, 0] < bands[:-1, 1])[0])
        raise ModelInputError(f"reference age bands [{bands[k, 0]:g}, {bands[k, 1]:g}) and "
                              f"[{bands[k + 1, 0]:g}, {bands[k + 1, 1]:g}) overlap; use one partition of ages")
    r["band"] = np.searchsorted(bands[:, 0], r["age_start"].to_numpy(float))
    keys = ["band", "sex"] + (["year"] if "year" in r else [])
    dup = r.duplicated(keys)
    if dup.any():
        row = r[dup].iloc[0]
        raise ModelInputError(f"reference rates give two rates for age [{row.age_start:g}, {row.age_end:g}) "
                              f"sex {row.sex!r}" + (f" year {int(row.year)}" if "year" in r else ""))
    r["rate"] = r["rate"] / rate_per
    return r.set_index(keys)["rate"], bands[:, 0], bands[:, 1]


def check_reference_rates(rates: pd.DataFrame, *, ages: tuple[float, float] | None = None, sexes=None,
                          years: tuple[int, int] | None = None) -> None:
    """Check a reference-rate table before any cohort data is read.

    Parameters
    ----------
    rates : the rates table (columns ``age_start, age_end, sex, [year,] rate``).
    ages : ``(lowest, highest)`` ages the study can reach; the bands must cover ``[lowest, highest)``
        without gaps. None: only check that the bands have no gap between them.
    sexes : sex codes the cohort holds; every band must have a rate for each. None: the codes in ``rates``.
    years : ``(first, last)`` calendar years of follow-up; every band and sex must have a rate for each
        year (needs a ``year`` column). None: the years in ``rates``.

    Raises
    ------
    ModelInputError
        naming the first gap or missing stratum, e.g. "no rate for age [60, 70) sex 2 year 2013".
    """
    table, starts, ends = _check_rates(rates, 1.0)
    gaps = np.flatnonzero(starts[1:] > ends[:-1])
    if gaps.size:
        k = int(gaps[0])
        raise ModelInputError(f"the reference rates have no age band for ages [{ends[k]:g}, {starts[k + 1]:g}); "
                              "add the missing band")
    if ages is not None:
        lo, hi = ages
        if lo < starts[0] or hi > ends[-1]:
            raise ModelInputError(f"the reference age bands cover [{starts[0]:g}, {ends[-1]:g}) but the study reaches "
                                  f"ages [{lo:g}, {hi:g}); add bands (age_end may be inf)")
        keep = (ends > lo) & (starts < hi)
    else:
        keep = np.ones(starts.size, dtype=bool)
    by_year = "year" in table.index.names
    if years is not None and not by_year:
        raise ModelInputError("years= given but the reference rates have no 'year' column")
    sex_values = list(pd.unique(table.index.get_level_values("sex"))) if sexes is None else list(sexes)
    year_values = [None]
    if by_year:
        yv = table.index.get_level_values("year")
        year_values = list(range(int(yv.min()), int(yv.max()) + 1) if years is None else range(years[0], years[1] + 1))
    for b in np.flatnonzero(keep):
        for sx in sex_values:
            for yr in year_values:
                key = (int(b), sx) if yr is None else (int(b), sx, yr)
                if key not in table.index:
                    where = f"age [{starts[b]:g}, {ends[b]:g}) sex {_plain(sx)!r}" + ("" if yr is None else f" year {yr}")
                    raise ModelInputError(f"the reference rates have no rate for {where}; add it to the rates file")


def _plain(v):
    """A numpy scalar as the Python value (for messages)."""
    return v.item() if isinstance(v, np.generic) else v


def _day_numbers(s: pd.Series) -> np.ndarray:
    if not pd.api.types.is_datetime64_any_dtype(s.dtype) or s.isna().any():
        raise ModelInputError(f"entry_date column {s.name!r} must be dates (datetime64) without missing values")
    return s.to_numpy(dtype="datetime64[D]").astype(np.int64).astype(float)


def _pieces(age, length, day0, starts, ends, dpy):
    """Lexis pieces of a chunk: row, band index, year (or None), person-years, last-piece flag."""
    edges = np.unique(np.concatenate([starts, ends[np.isfinite(ends)]]))
    age_cuts = (edges[None, :] - age[:, None]) * dpy
    year_cuts = jan1 = None
    if day0 is not None:
        y0 = int(np.datetime64(int(day0.min()), "D").astype("datetime64[Y]").astype(int)) + 1970
        y1 = int(np.datetime64(int((day0 + length).max()), "D").astype("datetime64[Y]").astype(int)) + 1970
        jan1 = np.array([np.datetime64(f"{y}-01-01") for y in range(y0, y1 + 2)]).astype(np.int64).astype(float)
        year_cuts = jan1[None, :] - day0[:, None]
    row, t0, t1 = lexis_pieces(length, age_cuts, year_cuts)
    mid = (t0 + t1) / 2.0
    a_mid = age[row] + mid / dpy
    band = np.searchsorted(starts, a_mid, side="right") - 1
    outside = (band < 0) | (a_mid >= ends[np.maximum(band, 0)])
    band = np.where(outside, -1, band)
    year = None
    if day0 is not None:
        year = np.searchsorted(jan1, day0[row] + mid, side="right") - 1 + y0
    last = np.r_[row[1:] != row[:-1], True]
    return row, band, year, (t1 - t0) / dpy, last, a_mid


def _person_time(age, t, is_event, day0, g, n_groups, sex: pd.Series, starts, ends, dpy) -> pd.DataFrame:
    """Person-years and observed events per group x band x sex x year (year 0 without calendar split)."""
    sex_code, sex_lev = pd.factorize(sex, sort=True)
    y0 = ny = 1
    if day0 is not None:
        y0 = int(np.datetime64(int(day0.min()), "D").astype("datetime64[Y]").astype(int)) + 1970
        ny = int(np.datetime64(int((day0 + t).max()), "D").astype("datetime64[Y]").astype(int)) + 1971 - y0
    shape = (n_groups, len(starts), len(sex_lev), ny)
    py, obs = np.zeros(int(np.prod(shape))), np.zeros(int(np.prod(shape)))
    for lo in range(0, len(t), CHUNK):
        idx = np.flatnonzero(t[lo:lo + CHUNK] > 0) + lo
        row, band, year, pyr, last, a_mid = _pieces(age[idx], t[idx], None if day0 is None else day0[idx],
                                                    starts, ends, dpy)
        if (band < 0).any():
            k = int(np.flatnonzero(band < 0)[0])
            raise ModelInputError(f"the reference rates have no age band for age {a_mid[k]:.2f} (sex "
                                  f"{_plain(sex_lev[sex_code[idx[row[k]]]])!r}); add a band covering it "
                                  "(e.g. up to age_end = inf)")
        rows = idx[row]
        yi = np.zeros_like(band) if year is None else year - y0
        cell = np.ravel_multi_index((g[rows], band, sex_code[rows], yi), shape)
        py += np.bincount(cell, weights=pyr, minlength=py.size)
        obs += np.bincount(cell, weights=(last & is_event[rows]), minlength=obs.size)
    nz = np.flatnonzero(py > 0)
    gi, bi, si, yi = np.unravel_index(nz, shape)
    return pd.DataFrame({"g": gi, "band": bi, "sex": sex_lev[si], "year": yi + y0,
                         "py": py[nz], "obs": obs[nz].astype(np.int64)})


def standardized_incidence_ratio(df: pd.DataFrame, duration: str, event: str, rates: pd.DataFrame, *, age: str,
                                 sex: str, entry_date: str | None = None, group: str | None = None, cause: int = 1,
                                 days_per_year: float = 365.25, rate_per: float = 1.0,
                                 level: float = 0.95) -> SIRResult:
    """Standardized incidence ratio of the cohort (per group) against reference rates.

    Parameters
    ----------
    df : pandas.DataFrame, one row per person.
    duration : follow-up length in days. event : event code (``cause`` counts as observed).
    rates : pandas.DataFrame with columns ``age_start, age_end`` (years, band ``[start, end)``, end
        may be inf), ``sex`` (values as in ``df[sex]``), optional ``year`` (calendar year) and ``rate``
        (events per ``rate_per`` person-years).
    age : age in years at follow-up start. sex : sex column.
    entry_date : date of follow-up start (datetime64); required when ``rates`` has a ``year`` column.
    group : column giving one SIR per level (e.g. the exposure group); None for the whole cohort.
    days_per_year : days in a person-year. rate_per : the person-years ``rate`` is expressed per.
    level : confidence level of the exact Poisson interval.

    Returns
    -------
    SIRResult

    Raises
    ------
    ModelInputError
        missing columns or values, rates that overlap, repeat a stratum, or miss a stratum the
        follow-up passes through (named in the message), a year column without ``entry_date``.
    """
    cols = [age, sex] + [c for c in (entry_date, group) if c is not None]
    check_columns(df, cols, "SIR")
    t, e, _, _ = survival_arrays(df, duration, event)
    table, starts, ends = _check_rates(rates, rate_per)
    by_year = "year" in table.index.names
    if by_year and entry_date is None:
        raise ModelInputError("the reference rates are by calendar year: pass entry_date= (date of follow-up start)")
    a = pd.to_numeric(df[age], errors="coerce").to_numpy(float)
    if not np.isfinite(a).all() or df[sex].isna().any():
        raise ModelInputError(f"columns {age!r} and {sex!r} must have no missing values for the SIR")
    day0 = _day_numbers(df[entry_date]) if entry_date is not None and by_year else None
    g = np.zeros(len(df), dtype=np.int64) if group is None else pd.factorize(df[group], sort=True)[0]
    if (g < 0).any():
        raise ModelInputError(f"group column {group!r} has missing values")
    glev = ["all"] if group is None else list(pd.factorize(df[group], sort=True)[1])
    strata = _person_time(a, t, e == cause, day0, g, len(glev), df[sex], starts, ends, days_per_year)
    keys = ["band", "sex"] + (["year"] if by_year else [])
    if not by_year:
        strata = strata.drop(columns="year")
    rate = table.reindex(pd.MultiIndex.from_frame(strata[keys])).to_numpy(float)
    if np.isnan(rate).any():
        k = int(np.flatnonzero(np.isnan(rate))[0])
        b, sx = int(strata["band"].iloc[k]), _plain(strata["sex"].iloc[k])
        where = f"age [{starts[b]:g}, {ends[b]:g}) sex {sx!r}"
        if by_year:
            where += f" year {int(strata['year'].iloc[k])}"
        raise ModelInputError(f"the reference rates have no rate for {where} ({int(np.isnan(rate).sum())} "
                              "stratum/strata missing in all); the follow-up passes through it - add it to the rates file")
    strata["expected"] = rate * strata["py"].to_numpy()
    out = strata.groupby("g")[["obs", "expected", "py"]].sum()
    rows = []
    for gi, r in out.iterrows():
        lo_, hi_, p = poisson_exact(int(r.obs), float(r.expected), level)
        rows.append({"group": glev[gi], "observed": int(r.obs), "expected": float(r.expected),
                     "sir": r.obs / r.expected, "ci_lower": lo_, "ci_upper": hi_, "p": p, "person_years": float(r.py)})
    strata.insert(1, "age_start", starts[strata["band"].to_numpy()])
    strata.insert(2, "age_end", ends[strata["band"].to_numpy()])
    strata = strata.drop(columns="band").rename(columns={"py": "person_years", "obs": "observed"})
    strata["group"] = [glev[i] for i in strata.pop("g")]
    strata = strata[["group"] + [c for c in strata.columns if c != "group"]]
    notes = [] if (t > 0).all() else [f"{int((t <= 0).sum())} person(s) with zero follow-up contribute nothing"]
    return SIRResult(pd.DataFrame(rows), strata, tuple(notes))
