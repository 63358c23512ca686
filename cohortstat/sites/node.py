"""A site answering federated rounds: one request (beta) in, the site's aggregates out.

Requests and responses are JSON documents (``protocol: cohortstat-federated/1``); Python's JSON
writes floats with 17 significant digits, so a round through files is exact.

Request: ``spec_hash``, ``model`` (``cox`` or ``fine_gray``), ``outcome``, ``covariates``, ``terms``,
``beta`` (one per term), ``derivs`` (score and information wanted), ``meat`` (Fine-Gray: crr variance
meat wanted). Cox also reads ``ties`` and ``strata`` from the site's own frozen study, never from the
request.

Response: ``site``, ``spec_hash``, ``model``, ``outcome``, ``beta`` (echoed), ``loglik``, ``score``,
``information`` (and ``meat``): sums over the site's rows only.

A site refuses (:class:`SiteStepRefused`) a request for another spec hash, an unknown outcome or term,
or an outcome whose analysis population or events number fewer than ``min_cell_count`` persons.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from cohortstat.sites.errors import SiteStepRefused
from cohortstat.sites.federated import CoxSite, FineGraySite
from cohortstat.sites.package import PACKAGE_DIR, PRIVATE_DIR, eligibility

PROTOCOL = "cohortstat-federated/1"


class SiteNode:
    """The answering side of one site, from its run folder (``OUT`` with ``.site_private/``)."""

    def __init__(self, site_out):
        root = Path(site_out)
        if root.name == PACKAGE_DIR:
            root = root.parent
        private = root / PRIVATE_DIR
        if not (private / "analysis.parquet").is_file():
            raise SiteStepRefused(f"{root} has no {PRIVATE_DIR}/analysis.parquet; give the OUT folder of this "
                                  "site's `cohortstat run ... --site NAME` (the private table stays there)")
        info = json.loads((private / "private.json").read_text(encoding="utf-8"))
        pkg = json.loads((root / PACKAGE_DIR / "package.json").read_text(encoding="utf-8"))
        self.site = info["site"]
        self.spec_hash = info["spec_hash"]
        self.min_cell_count = int(info["min_cell_count"])
        self.covariates = list(pkg["covariates"])
        self.cox_options = pkg["federated"]["cox"]
        self._table = pd.read_parquet(private / "analysis.parquet")
        self._models: dict = {}

    def _model(self, kind: str, outcome: str, covariates: list, terms: list):
        key = (kind, outcome, tuple(covariates), tuple(terms))
        if key not in self._models:
            t, e = f"time_{outcome}", f"event_{outcome}"
            if t not in self._table:
                raise SiteStepRefused(f"site {self.site}: unknown outcome {outcome!r}")
            unknown = [c for c in covariates if c not in self.covariates]
            if unknown:
                raise SiteStepRefused(f"site {self.site}: covariates {unknown} are not in this site's study")
            status = eligibility(self._table, outcome, self.min_cell_count)
            if status != "ok":
                raise SiteStepRefused(
                    f"site {self.site}: outcome {outcome!r} is {status.replace('_', ' ')} (fewer than "
                    f"{self.min_cell_count} persons in its at-risk or event aggregates); it answers no round "
                    "for this outcome - pool without it (--drop-site)")
            if kind == "cox":
                self._models[key] = CoxSite(self._table, t, e, covariates, terms, ties=self.cox_options["ties"],
                                            strata=self.cox_options.get("strata", ()))
            elif kind == "fine_gray":
                self._models[key] = FineGraySite(self._table, t, e, covariates, terms)
            else:
                raise SiteStepRefused(f"unknown model {kind!r}; use 'cox' or 'fine_gray'")
        return self._models[key]

    def answer(self, request: dict) -> dict:
        """The response to one request (see the module docstring)."""
        if request.get("protocol") != PROTOCOL:
            raise SiteStepRefused(f"request protocol {request.get('protocol')!r} is not {PROTOCOL!r}")
        if request.get("spec_hash") != self.spec_hash:
            raise SiteStepRefused(f"site {self.site} ran spec {self.spec_hash[:12]}..., the request is for "
                                  f"{str(request.get('spec_hash'))[:12]}...; both must run the same frozen study")
        try:
            kind, outcome = request["model"], request["outcome"]
            covariates, terms = list(request["covariates"]), list(request["terms"])
            beta = np.asarray(request["beta"], dtype=float)
        except (KeyError, TypeError, ValueError) as exc:
            raise SiteStepRefused(f"malformed request ({exc}); it needs model, outcome, covariates, terms, beta") from exc
        if beta.shape != (len(terms),) or not np.isfinite(beta).all():
            raise SiteStepRefused(f"beta must hold one finite number per term ({len(terms)})")
        model = self._model(kind, outcome, covariates, terms)
        derivs = bool(request.get("derivs", True))
        if kind == "fine_gray":
            agg = model.evaluate(beta, derivs=derivs, meat=bool(request.get("meat", False)))
        else:
            agg = model.evaluate(beta)
        out = {"protocol": PROTOCOL, "site": self.site, "spec_hash": self.spec_hash, "model": kind,
               "outcome": outcome, "beta": beta.tolist(), "loglik": agg.loglik}
        if derivs and agg.score is not None:
            out["score"] = agg.score.tolist()
            out["information"] = agg.info.tolist()
        if agg.meat is not None:
            out["meat"] = agg.meat.tolist()
        return out


def site_step(site_out, request_path, response_path) -> dict:
    """Answer one request file with one response file (``cohortstat site-step``)."""
    try:
        request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SiteStepRefused(f"cannot read the request {request_path}: {exc}") from exc
    response = SiteNode(site_out).answer(request)
    tmp = Path(str(response_path) + ".part")
    tmp.write_text(json.dumps(response) + "\n", encoding="utf-8")  # -inf: a diverging step
    tmp.replace(response_path)  # the coordinator never sees a half-written response
    return response
