"""Pooling site packages: checks, per-site and meta-analysed estimates, federated fits.

``pool(packages, drop_sites=(), exchange=None) -> PoolResult``. The checks refuse, with a message
naming the sites, packages that ran different spec hashes, a package whose files do not match its
manifest, a site with no event of an outcome and a site whose analysis population or events of an
outcome number fewer than its minimum cell count. The pool continues without a site only when the
user names it in ``drop_sites`` (``--drop-site``).

Estimates (one tidy row each, ``analysis`` column):

- ``site:NAME`` - the site's own estimate, as in its report;
- ``pooled_fixed`` - inverse-variance fixed effect of the sites' log hazard ratios;
- ``pooled_random`` - random effects, tau^2 by REML, Hartung-Knapp-Sidik-Jonkman interval;
- ``pooled_federated`` - the exact site-stratified Cox or Fine-Gray fit on the union of the sites'
  analysis tables, computed by federated rounds (crude and adjusted models; models on matched or
  weighted tables are meta-analysed only).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from scipy import stats

from cohortstat.errors import ConvergenceError, ModelInputError
from cohortstat.models.meta import meta_fixed, meta_random
from cohortstat.sites.errors import PoolError, SitePackageError
from cohortstat.sites.exchange import Coordinator, FileSite, LocalSite
from cohortstat.sites.package import PACKAGE_DIR, load_package
from cohortstat.sites.pooled_tables import pool_attrition, pool_table_one, pooled_count

TIDY_COLUMNS = ["analysis", "outcome", "subgroup", "level", "period", "model", "adjustment", "term",
                "estimate_type", "estimate", "ci_lower", "ci_upper", "p", "events_exposed", "events_reference",
                "log_estimate", "se", "k_sites", "tau2", "I2", "Q", "Q_p", "df", "iterations", "converged"]
FEDERATED_MODELS = {"cox_crude": ("cox", "crude"), "cox_adjusted": ("cox", "adjusted"),
                    "fg_crude": ("fine_gray", "crude"), "fg_adjusted": ("fine_gray", "adjusted")}
Z = float(stats.norm.isf(0.025))


@dataclass(frozen=True)
class PoolResult:
    """Everything a pooled report shows (immutable; aggregates only)."""

    sites: tuple[str, ...]
    dropped: tuple[str, ...]
    spec_hash: str
    title: str
    groups: tuple[str, str]
    min_cell_count: int
    estimates: pd.DataFrame = field(repr=False)
    attrition: pd.DataFrame = field(repr=False)
    table_one: pd.DataFrame = field(repr=False)
    package_hashes: dict = field(repr=False)
    notes: tuple[str, ...] = ()


def _site_name_unverified(path) -> str:
    root = Path(path)
    root = root / PACKAGE_DIR if (root / PACKAGE_DIR).is_dir() else root
    try:
        return str(json.loads((root / "package.json").read_text(encoding="utf-8"))["site"])
    except (OSError, ValueError, KeyError, TypeError):
        return str(path)


def load_packages(paths: Sequence, drop_sites: Sequence[str] = ()) -> tuple[list[dict], list[str]]:
    """Load and check every package; returns (kept packages, dropped site names)."""
    drop = set(drop_sites)
    kept, dropped, problems = [], [], []
    for path in paths:
        name = _site_name_unverified(path)
        if name in drop:
            dropped.append(name)
            continue
        try:
            kept.append(load_package(path))
        except SitePackageError as exc:
            problems.append(f"site {name}: {exc}")
    unknown = drop - set(dropped)
    if unknown:
        raise PoolError(f"--drop-site names {sorted(unknown)}, which are not among the packages given")
    if problems:
        raise PoolError("\n".join(problems) + "\nor pool without these sites: --drop-site NAME")
    names = [p["site"] for p in kept]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise PoolError(f"site name(s) {dup} given more than once; give each site's package once")
    _check_consistent(kept)
    if not kept:
        raise PoolError("no site left to pool; give at least one package")
    return kept, dropped


def _check_consistent(pkgs: list[dict]) -> None:
    by_hash: dict[str, list[str]] = {}
    for p in pkgs:
        by_hash.setdefault(p["spec_hash"], []).append(p["site"])
    if len(by_hash) > 1:
        lines = [f"  spec {h[:12]}...: {', '.join(s)}" for h, s in sorted(by_hash.items(), key=lambda kv: -len(kv[1]))]
        raise PoolError("the packages ran different studies (spec hashes differ):\n" + "\n".join(lines)
                        + "\nre-run the differing sites with the same frozen study (study.lock.json), "
                        "or leave them out with --drop-site NAME")
    problems = []
    for p in pkgs:
        for outcome, o in p["outcomes"].items():
            if o["status"] == "no_events":
                problems.append(f"site {p['site']}: no event of outcome {outcome!r}")
            elif o["status"] == "too_small":
                problems.append(f"site {p['site']}: outcome {outcome!r} has fewer than {p['min_cell_count']} "
                                "persons at risk or events (below the minimum cell count)")
    if problems:
        raise PoolError("\n".join(problems) + "\npool without these sites with --drop-site NAME")


def _site_rows(pkgs: list[dict]) -> pd.DataFrame:
    frames = []
    for p in pkgs:
        est = pd.read_csv(p["_dir"] / "estimates.csv", keep_default_na=True)
        frames.append(est.assign(site=p["site"]))
    return pd.concat(frames, ignore_index=True)


def _exp(x: float) -> float:
    """exp() that gives inf instead of raising (a monotone-likelihood estimate has a huge SE)."""
    return math.exp(x) if x < 700 else math.inf


def _row(analysis, outcome, model, adjustment, term, log_est, se, **extra) -> dict:
    ok = se is not None and math.isfinite(se) and math.isfinite(log_est)
    crit = extra.pop("crit", Z)
    row = {"analysis": analysis, "outcome": outcome, "subgroup": None, "level": None, "period": None,
           "model": model, "adjustment": adjustment, "term": term, "estimate_type": "hr",
           "estimate": _exp(log_est) if math.isfinite(log_est) else math.nan,
           "ci_lower": _exp(log_est - crit * se) if ok else math.nan,
           "ci_upper": _exp(log_est + crit * se) if ok else math.nan,
           "log_estimate": log_est, "se": se}
    if "p" not in extra:
        extra["p"] = float(2 * stats.norm.sf(abs(log_est / se))) if ok and se > 0 else math.nan
    row.update(extra)
    return row


def meta_rows(site_est: pd.DataFrame) -> list[dict]:
    """Per-site rows and fixed / random pooled rows for every outcome, model and term."""
    rows = []
    for (outcome, model, adj, term), g in site_est.groupby(["outcome", "model", "adjustment", "term"], sort=False):
        for r in g.itertuples():
            rows.append(_row(f"site:{r.site}", outcome, model, adj, term, float(r.coef), float(r.se), k_sites=1,
                             events_exposed=None, events_reference=None))
        g = g.loc[g["se"].notna() & (g["se"] > 0)]
        if len(g) < 2:
            continue
        fe = meta_fixed(g["coef"], g["se"])
        rows.append(_row("pooled_fixed", outcome, model, adj, term, fe.estimate, fe.se, p=fe.p, k_sites=fe.k,
                         tau2=0.0, I2=fe.I2, Q=fe.Q, Q_p=fe.Q_p))
        re = meta_random(g["coef"], g["se"], test="knha")
        rows.append(_row("pooled_random", outcome, model, adj, term, re.estimate, re.se, p=re.p, k_sites=re.k,
                         tau2=re.tau2, I2=re.I2, Q=re.Q, Q_p=re.Q_p, df=re.df,
                         crit=float(stats.t.isf(0.025, re.df))))
    return rows


def _with_events(est: pd.DataFrame, results: dict, groups, k: int) -> pd.DataFrame:
    """``events_exposed`` / ``events_reference``: outcome events per group of the analysis population
    (the site's published count, or the pooled sum / range); empty for models on matched or weighted tables."""
    per = {}
    for site, r in results.items():
        for outcome, o in r.get("outcomes", {}).items():
            rates = {x["group"]: x.get("events") for x in o.get("rates", [])}
            per[(site, outcome)] = tuple(rates.get(g) for g in groups)
    exp_col, ref_col = [], []
    for a, outcome, adj in zip(est["analysis"], est["outcome"], est["adjustment"]):
        if adj == "ps":
            cells = (None, None)
        elif a.startswith("site:"):
            cells = per.get((a.removeprefix("site:"), outcome), (None, None))
        else:
            cells = tuple(pooled_count([per.get((s, outcome), (None, None))[i] for s in results], k) for i in (0, 1))
        exp_col.append(cells[0])
        ref_col.append(cells[1])
    return est.assign(events_exposed=pd.Series(exp_col, index=est.index, dtype=object),
                      events_reference=pd.Series(ref_col, index=est.index, dtype=object))


def _terms(pkgs: list[dict], outcome: str, model: str) -> list[str]:
    terms: list[str] = []
    for p in pkgs:
        for t in p.get("model_terms", {}).get(outcome, {}).get(model, []):
            if t not in terms:
                terms.append(t)
    return terms


def federated_rows(pkgs: list[dict], coord: Coordinator, notes: list[str]) -> list[dict]:
    """Exact site-stratified fits of the crude and adjusted Cox and Fine-Gray models of every outcome.

    A model that cannot be fitted on the union (singular information, e.g. a covariate without
    variation) is left out with a note; a site's refusal stops the pool (:class:`PoolError`).
    """
    rows = []
    covs = pkgs[0]["covariates"]
    for outcome in pkgs[0]["outcomes"]:
        for name, (kind, adj) in FEDERATED_MODELS.items():
            terms = _terms(pkgs, outcome, name)
            if not terms:
                continue
            cv = ["exposure"] if adj == "crude" else covs
            try:
                fit = coord.fit(kind, outcome, cv, terms)
            except (ModelInputError, ConvergenceError) as exc:
                notes.append(f"{outcome} {name}: no federated estimate ({exc})")
                continue
            if not fit.converged:
                notes.append(f"{outcome} {name}: the federated fit did not converge; its estimate is the last good "
                             "step (a coefficient may be infinite)")
            for j, t in enumerate(fit.terms):
                rows.append(_row("pooled_federated", outcome, kind, adj, t, float(fit.coef[j]), float(fit.se[j]),
                                 k_sites=len(pkgs), iterations=fit.iterations, converged=fit.converged))
    return rows


def _coordinator(pkgs: list[dict], exchange, timeout: float) -> Coordinator:
    sites = []
    for p in pkgs:
        if exchange is None:
            if p["_private"] is None:
                raise PoolError(f"site {p['site']}: its run folder is not here, so the federated rounds must go "
                                "through files: give --exchange DIR (a folder both sides can reach)")
            sites.append(LocalSite(p["site"], p["_private"].parent))
        else:
            sites.append(FileSite(p["site"], exchange, timeout=timeout))
    return Coordinator(sites, pkgs[0]["spec_hash"])


def pool(paths: Sequence, drop_sites: Sequence[str] = (), exchange=None, timeout: float = 3600.0,
         federated: bool = True) -> PoolResult:
    """Check, meta-analyse and (``federated``) fit the site-stratified models over the packages."""
    pkgs, dropped = load_packages(paths, drop_sites)
    first = pkgs[0]
    site_est = _site_rows(pkgs)
    rows = meta_rows(site_est)
    notes = []
    if len(pkgs) < 2:
        notes.append("one site only: no meta-analysis")
    if federated:
        rows += federated_rows(pkgs, _coordinator(pkgs, exchange, timeout), notes)
    est = pd.DataFrame(rows).reindex(columns=TIDY_COLUMNS)
    order = {"pooled_federated": 0, "pooled_fixed": 1, "pooled_random": 2}
    est = est.assign(_o=est["analysis"].map(order).fillna(3)).sort_values(
        ["outcome", "model", "adjustment", "term", "_o", "analysis"], kind="stable").drop(columns="_o")
    results = [json.loads((p["_dir"] / "results.json").read_text(encoding="utf-8")) for p in pkgs]
    groups = tuple(first["groups"])
    k = max(int(p["min_cell_count"]) for p in pkgs)
    est = _with_events(est, {p["site"]: r for p, r in zip(pkgs, results)}, groups, k)
    return PoolResult(
        sites=tuple(p["site"] for p in pkgs), dropped=tuple(dropped), spec_hash=first["spec_hash"],
        title=first.get("title") or "", groups=groups, min_cell_count=k, estimates=est.reset_index(drop=True),
        attrition=pool_attrition([r["attrition"] for r in results], groups, k),
        table_one=pool_table_one([r["table_one"] for r in results], groups, k),
        package_hashes={p["site"]: p["_package_hash"] for p in pkgs}, notes=tuple(notes))
