"""The site package: what one hospital's run may send to the network, and nothing else.

``cohortstat run STUDY --data D --out O --site NAME`` writes, besides the usual report folder:

- ``O/site_package/`` - the only folder that leaves the site: ``package.json`` (site, spec hash,
  data fingerprint as one SHA-256, min cell count, per-outcome eligibility flags, model terms),
  ``study.lock.json`` (the frozen study; data fingerprint replaced by its hash), ``results.json``,
  ``attrition.csv`` and ``tables/*.csv`` (the run's suppressed outputs), ``estimates.csv`` (per
  outcome and model: log hazard ratio, standard error and variance) and ``MANIFEST.json`` (content
  hashes). The folder passes the same disclosure scan as the report.
- ``O/.site_private/`` - the analysis table (one row per patient: group, covariates, times and events;
  no identifier, no date) kept so that the site can answer the federated rounds. It never leaves the
  site.

Eligibility flags per outcome, from the exact counts (only the flag is written): ``ok`` when the outcome's
analysis population and its events both hold at least ``min_cell_count`` persons, ``no_events`` when
there is no event, ``too_small`` otherwise. A site answers federated rounds only for ``ok`` outcomes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pandas as pd

from cohortstat.errors import ReportError, SpecError
from cohortstat.sites.errors import SitePackageError
from cohortstat.sites.manifest import verify_manifest, write_manifest

PACKAGE_DIR = "site_package"
PRIVATE_DIR = ".site_private"
FORMAT = "cohortstat-site-package/1"
SITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
ESTIMATE_COLUMNS = ["site", "outcome", "model", "adjustment", "term", "estimate_type", "coef", "se", "variance",
                    "hr", "ci_lower", "ci_upper", "p", "n_events"]


def check_site_name(site: str) -> str:
    """A site name: letters, digits, ``_`` and ``-``, 1 to 40 characters, starting alphanumeric."""
    if not isinstance(site, str) or not SITE_NAME.match(site):
        raise ReportError(f"--site {site!r}: use 1-40 letters, digits, '_' or '-' (e.g. --site nantes)")
    return site


def _dump(path: Path, doc) -> None:
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")


def fingerprint_hash(fingerprint) -> str:
    """SHA-256 of the canonical JSON of a data fingerprint (row counts and content hashes)."""
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def model_covariates_of(study) -> list[str]:
    """Covariates of the adjusted models (``exposure`` first), as the analysis layer fits them."""
    from cohortstat.analysis import model_covariates

    return list(model_covariates(study))


def check_poolable(study) -> None:
    """Raise :class:`SpecError` when the outcome models of ``study`` cannot be pooled across sites.

    A natural spline's knots are quantiles of the data it is fitted on: every site would place them on its
    own patients, so the sites would fit different models and no pooled estimate is the union's. Bands
    cut at the study's ``breaks`` and linear terms are the same at every site.
    """
    errors = [(f"covariates.{name}", "form: spline cannot be used in a multi-site study: its knots are "
               "quantiles of each site's own data, so the sites would fit different models; use form: "
               "categories with breaks (the same bands at every site) or linear")
              for name in ("age", "calendar_year")
              if getattr(getattr(study.covariates, name), "form", None) == "spline"]
    if errors:
        raise SpecError(errors)


def private_table(study, table: pd.DataFrame) -> pd.DataFrame:
    """The columns the federated rounds need: covariates (derived bands included), strata, and
    ``time_``/``event_`` of each outcome."""
    from cohortstat.analysis.terms import add_term_columns

    check_poolable(study)
    table = add_term_columns(table, study.covariates).copy()
    if "sex" in table and "female" not in table:
        table["female"] = (table["sex"] == 2).astype(int)  # as the analysis layer codes it
    cols = ["group", *model_covariates_of(study), *study.analyses.cox.strata]
    for name in study.outcomes:
        cols += [f"time_{name}", f"event_{name}"]
    missing = [c for c in cols if c not in table]
    if missing:
        raise ReportError(f"the analysis table lacks {missing}; rebuild the cohort with this cohortstat version")
    return table[list(dict.fromkeys(cols))].reset_index(drop=True)


def eligibility(table: pd.DataFrame, outcome: str, k: int) -> str:
    """``ok``, ``no_events`` or ``too_small`` for one outcome of a site (see the module docstring)."""
    sub = table.loc[table[f"time_{outcome}"].notna()]
    events = int((sub[f"event_{outcome}"] == 1).sum())
    if events == 0:
        return "no_events"
    return "ok" if len(sub) >= k and events >= k else "too_small"


def _estimates(site: str, results: dict) -> pd.DataFrame:
    rows = []
    for outcome, o in results.get("outcomes", {}).items():
        for r in o.get("models", []):
            kind, _, adj = r["model"].partition("_")
            se = r["robust_se"] if r.get("robust_se") is not None else r["se"]
            rows.append({"site": site, "outcome": outcome, "model": {"cox": "cox", "fg": "fine_gray"}.get(kind, kind),
                         "adjustment": adj, "term": r["term"], "estimate_type": "log_hr", "coef": r["coef"],
                         "se": se, "variance": None if se is None else se * se, "hr": r["hr"],
                         "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"], "p": r["p"], "n_events": r["n_events"]})
    return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)


def _model_terms(results: dict) -> dict:
    out: dict = {}
    for outcome, o in results.get("outcomes", {}).items():
        for r in o.get("models", []):
            out.setdefault(outcome, {}).setdefault(r["model"], [])
            if r["term"] not in out[outcome][r["model"]]:
                out[outcome][r["model"]].append(r["term"])
    return out


def add_site_outputs(folder, site: str, study, cohort, min_cell_count: int, identifiers=()) -> None:
    """Write ``site_package/`` and ``.site_private/`` into a finished (temporary) report folder.

    Called by ``run(..., site=NAME)`` after the report's disclosure scan; the package gets its own scan
    and nothing is written when it fails (:class:`ReportError`).
    """
    from cohortstat.report.suppression import scan_outputs
    from cohortstat.spec import spec_hash

    check_site_name(site)
    folder = Path(folder)
    k = int(min_cell_count)
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    lock = json.loads((folder / "study.lock.json").read_text(encoding="utf-8"))
    fp = fingerprint_hash(lock.get("data_fingerprint"))
    table = private_table(study, cohort.table)
    pkg = folder / PACKAGE_DIR
    pkg.mkdir()
    lock["data_fingerprint"] = {"sha256": fp}
    _dump(pkg / "study.lock.json", lock)
    results.setdefault("provenance", {})["data_fingerprint"] = {"sha256": fp}
    _dump(pkg / "results.json", results)
    if (folder / "attrition.csv").is_file():
        shutil.copy2(folder / "attrition.csv", pkg / "attrition.csv")
    if (folder / "tables").is_dir():
        # the CSV tables; their xlsx and HTML copies for manuscripts stay in the report
        shutil.copytree(folder / "tables", pkg / "tables", ignore=shutil.ignore_patterns("*.xlsx", "*.html"))
    _estimates(site, results).to_csv(pkg / "estimates.csv", index=False)
    an = study.analyses
    _dump(pkg / "package.json", {
        "format": FORMAT, "site": site, "title": results.get("title"), "spec_hash": spec_hash(study),
        "data_fingerprint_sha256": fp, "cohortstat_version": lock.get("cohortstat_version"),
        "min_cell_count": k, "groups": results.get("groups"),
        "outcomes": {name: {"status": eligibility(table, name, k)} for name in study.outcomes},
        "covariates": model_covariates_of(study), "model_terms": _model_terms(results),
        "federated": {"cox": {"ties": an.cox.ties, "strata": list(an.cox.strata)}, "fine_gray": {"weights": "crr"}},
    })
    problems = scan_outputs(pkg, k, identifiers=identifiers)
    if problems:
        raise ReportError("the site package failed the disclosure check; nothing was written:\n"
                          + "\n".join(f"  - {p}" for p in problems[:20]))
    write_manifest(pkg)
    private = folder / PRIVATE_DIR
    private.mkdir()
    table.to_parquet(private / "analysis.parquet", index=False)
    _dump(private / "private.json", {"site": site, "spec_hash": spec_hash(study), "min_cell_count": k,
                                     "data_fingerprint_sha256": fp})
    (private / "README.txt").write_text(
        "Row-level analysis table of this site, kept to answer federated rounds (cohortstat site-step).\n"
        "It must never leave the site: only the site_package folder is sent to the network.\n", encoding="utf-8")


def load_package(path) -> dict:
    """Read and verify a site package (``OUT`` or ``OUT/site_package``); returns its ``package.json``.

    The returned dict gets ``_dir`` (the package folder), ``_private`` (the site's private folder when
    it is present next to the package, else None) and ``_package_hash``.
    """
    root = Path(path)
    if (root / PACKAGE_DIR).is_dir():
        root = root / PACKAGE_DIR
    if not root.is_dir():
        raise SitePackageError(f"{path} is not a folder; give OUT/site_package of a site run")
    ph = verify_manifest(root)
    try:
        meta = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SitePackageError(f"{root}/package.json is unreadable: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise SitePackageError(f"{root}: unknown package format {meta.get('format')!r} (expected {FORMAT}); "
                               "re-run the site with this cohortstat version")
    private = root.parent / PRIVATE_DIR
    meta["_dir"] = root
    meta["_private"] = private if (private / "analysis.parquet").is_file() else None
    meta["_package_hash"] = ph
    return meta
