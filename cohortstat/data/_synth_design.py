"""Planted truth for study designs: an unmeasured confounder, effect modification by age band, a
period-varying effect, negative-control outcomes, and the nonsevere-infection comparator group.

Everything here is drawn from its own random streams (``SeedSequence([seed, chunk, k])``, k in
:data:`cohortstat.data._synth_params.DESIGN_STREAMS`) after the draws of
:func:`cohortstat.data._synth_sim.simulate_chunk`, so the records of the index population are the same
as without it. New stays get stay numbers in a separate range (slot 1), so that the ids of the
other stays do not move. See docs/synthetic-data.md.
"""

from __future__ import annotations

import numpy as np

from cohortstat.data import _synth_params as P
from cohortstat.data._synth_sim import D_END, Chunk, _live_modes, _pick

#: global patient numbers of the nonsevere-infection patients start here (ids never collide)
NONSEVERE_NUMBER_BASE = 1 << 40
#: stay numbers: patient number x 64 + slot x 32 + rank within the slot
SLOT_WIDTH = 32


def nc_outcome(name: str) -> str:
    """Outcome name of negative control ``name`` (as the cohort builder names it)."""
    return f"nc_{name}"


#: every outcome added here, in the order drawn
DESIGN_OUTCOME_NAMES = (*P.DESIGN_OUTCOMES, *(nc_outcome(k) for k in P.NEGATIVE_CONTROLS))


def _base_lp(par: dict[str, float], p: dict[str, np.ndarray]) -> np.ndarray:
    """Log hazard per day without the exposure term (age, sex, Charlson, tobacco)."""
    return (np.log(par["base_per_year"] / 365.25) + par["age"] * (p["age"] - P.AGE_CENTRE)
            + par["female"] * (p["sex"] == 2) + par["charlson"] * p["charlson"] + par["tobacco"] * p["tobacco"])


def age_band(age: np.ndarray) -> np.ndarray:
    """Index of the age band [edge_k, edge_k+1) of :data:`AGE_BAND_EDGES` (0 below the first edge)."""
    return np.clip(np.searchsorted(np.asarray(P.AGE_BAND_EDGES), age, side="right") - 1, 0,
                   len(P.AGE_BAND_EDGES) - 2)


def _piecewise_times(e1: np.ndarray, log_rates: np.ndarray) -> np.ndarray:
    """Event times (days) of piecewise-constant hazards: ``log_rates[:, j]`` on period j of
    :data:`PERIOD_EDGES_DAYS`; ``e1`` are Exp(1) draws (inversion of the cumulative hazard)."""
    edges = np.asarray(P.PERIOD_EDGES_DAYS, dtype=float)
    rates = np.exp(log_rates)
    widths = np.diff(edges)
    widths[-1] = np.inf
    cum = np.concatenate([np.zeros((len(e1), 1)), np.cumsum(rates[:, :-1] * widths[:-1], axis=1)], axis=1)
    j = (cum <= e1[:, None]).sum(axis=1) - 1
    rows = np.arange(len(e1))
    return edges[j] + (e1 - cum[rows, j]) / rates[rows, j]


def _offsets(rng: np.random.Generator, p: dict[str, np.ndarray], u: np.ndarray, group: str) -> dict:
    """Days from the index discharge to each design outcome (fixed draw order)."""
    n = len(u)
    exposed = p["exposed"].astype(float)
    raw: dict[str, np.ndarray] = {}
    my = P.DESIGN_OUTCOMES["myeloid"]
    beta = np.asarray(P.MYELOID_EXPOSURE_BY_AGE_BAND)[age_band(p["age"])]
    raw["myeloid"] = rng.exponential(1.0, n) / np.exp(_base_lp(my, p) + beta * exposed)
    cis = P.DESIGN_OUTCOMES["in_situ"]
    lr = _base_lp(cis, p)[:, None] + np.outer(exposed, P.IN_SITU_EXPOSURE_BY_PERIOD)
    raw["in_situ"] = _piecewise_times(rng.exponential(1.0, n), lr)
    for k, par in P.NEGATIVE_CONTROLS.items():
        lp = np.log(par["base_per_year"] / 365.25) + par["age"] * (p["age"] - P.AGE_CENTRE) + par["u"] * u
        raw[nc_outcome(k)] = rng.exponential(1.0, n) / np.exp(lp)
    return {k: np.ceil(np.minimum(v, 1e7)).astype(np.int64) for k, v in raw.items()}


def _codes() -> dict[str, tuple[str, ...]]:
    return {**P.DESIGN_OUTCOME_CODES, **{nc_outcome(k): v for k, v in P.NEGATIVE_CONTROL_CODES.items()}}


def add_design(ch: Chunk, rng: np.random.Generator, group: str) -> Chunk:
    """``ch`` with U, the design outcomes and their stays (slot 1) of its patients added."""
    p = dict(ch.patient)
    n = len(p["sex"])
    pu = P.UNMEASURED_U
    if group == "nonsevere":
        prob = np.full(n, pu["p_nonsevere"])
    else:
        prob = np.where(p["exposed"], pu["p_exposed"], pu["p_reference"])
    u = rng.random(n) < prob
    offs = _offsets(rng, p, u, group)
    limit = np.minimum(p["death_off"], p["end_off"])
    upper = np.minimum(p["death_day"], D_END)
    stays = {k: [v] for k, v in ch.stays.items()}
    stays.setdefault("slot", [np.zeros(len(ch.stays["pat"]), dtype=np.int8)])
    diags = {k: [v] for k, v in ch.diagnoses.items()}
    nrows = len(ch.stays["pat"])
    codes = _codes()
    for k in DESIGN_OUTCOME_NAMES:
        rec = ~p["index_death"] & (offs[k] <= limit)
        m = int(rec.sum())
        adm = p["dis"][rec] + offs[k][rec]
        dis = np.minimum(adm + rng.geometric(0.5, m) - 1, upper[rec])
        for col, val in (("pat", np.flatnonzero(rec).astype(np.int64)), ("adm", adm), ("dis", dis),
                         ("mode", _live_modes(rng, m)), ("slot", np.ones(m, dtype=np.int8))):
            stays[col].append(val)
        diags["stay"].append(np.arange(nrows, nrows + m, dtype=np.int64))
        diags["code"].append(_pick(rng, codes[k], m))
        diags["role"].append(np.zeros(m, dtype=np.int8))  # principal
        nrows += m
        p[f"off_{k}"], p[f"rec_{k}"] = offs[k], rec
    p["u"] = u
    return Chunk(p, {k: np.concatenate(v) for k, v in stays.items()},
                 {k: np.concatenate(v) for k, v in diags.items()})


def merge(index: Chunk, nonsevere: Chunk, start: int) -> Chunk:
    """One chunk of both populations; ``patient["gnum"]`` holds the global patient numbers and
    ``patient["nonsevere"]`` the group."""
    n, m = len(index.patient["sex"]), len(nonsevere.patient["sex"])
    patient = {k: np.concatenate([index.patient[k], nonsevere.patient[k]]) for k in index.patient}
    patient["gnum"] = np.concatenate([np.arange(start, start + n, dtype=np.uint64),
                                      np.arange(start, start + m, dtype=np.uint64) + np.uint64(NONSEVERE_NUMBER_BASE)])
    patient["nonsevere"] = np.r_[np.zeros(n, bool), np.ones(m, bool)]
    ns_stays = dict(nonsevere.stays, pat=nonsevere.stays["pat"] + n)
    stays = {k: np.concatenate([index.stays[k], ns_stays[k]]) for k in index.stays}
    ns_diags = dict(nonsevere.diagnoses, stay=nonsevere.diagnoses["stay"] + len(index.stays["pat"]))
    diags = {k: np.concatenate([index.diagnoses[k], ns_diags[k]]) for k in index.diagnoses}
    return Chunk(patient, stays, diags)
