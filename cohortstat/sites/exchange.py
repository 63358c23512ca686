"""How the coordinator reaches the sites during federated rounds: in process, or by file exchange.

- :class:`LocalSite`: the site's run folder is on this machine (a simulated network, or a site pooling
  its own runs); each round calls :meth:`SiteNode.answer` directly, through the same JSON documents
  as the file exchange (serialised and parsed), so both paths give identical numbers.
- :class:`FileSite`: the coordinator writes ``EXCHANGE/round-NNNN/request.json`` and waits for
  ``EXCHANGE/round-NNNN/<site>.json``, which the site writes with ``cohortstat site-step SITE_OUT
  --request .../request.json --out .../<site>.json`` (by hand, a scheduled job, or a folder watcher).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cohortstat.sites.errors import PoolError, SiteStepRefused
from cohortstat.sites.federated import Aggregates, FederatedFit, add_aggregates, federated_cox, federated_finegray
from cohortstat.sites.node import PROTOCOL, SiteNode

FG_GTOL = 1e-9  # Fine-Gray convergence of the pooled fit (see Coordinator.fit)


def _aggregates(resp: dict, site: str, request: dict) -> Aggregates:
    if resp.get("site") != site or resp.get("spec_hash") != request["spec_hash"] or resp.get("beta") != request["beta"]:
        raise PoolError(f"the response file of site {site!r} does not answer this round's request "
                        "(other site, study or beta); delete it and let the site answer again")
    arr = (lambda k: None if k not in resp else np.asarray(resp[k], dtype=float))
    return Aggregates(float(resp["loglik"]), arr("score"), arr("information"), arr("meat"))


class LocalSite:
    """A site whose run folder is local: rounds answered in process."""

    def __init__(self, site: str, site_out):
        self.site = site
        self.node = SiteNode(site_out)

    def ask(self, request: dict) -> dict:
        return json.loads(json.dumps(self.node.answer(json.loads(json.dumps(request)))))


class FileSite:
    """A remote site: requests and responses are files in a shared exchange folder."""

    def __init__(self, site: str, exchange, timeout: float = 3600.0, poll: float = 0.2):
        self.site = site
        self.exchange = Path(exchange)
        self.timeout = float(timeout)
        self.poll = float(poll)

    def ask(self, request: dict) -> dict:
        folder = self.exchange / f"round-{request['round']:04d}"
        req = folder / "request.json"
        if not req.is_file():  # the first site of a round writes the request, the others share it
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / "request.json.part"
            part.write_text(json.dumps(request, indent=1) + "\n", encoding="utf-8")
            part.replace(req)
        resp = folder / f"{self.site}.json"
        deadline = time.monotonic() + self.timeout
        while not resp.is_file():
            if time.monotonic() > deadline:
                raise PoolError(f"site {self.site} did not answer {req} within {self.timeout:.0f} s; the site runs: "
                                f"cohortstat site-step SITE_OUT --request {req} --out {resp}")
            time.sleep(self.poll)
        return json.loads(resp.read_text(encoding="utf-8"))


class Coordinator:
    """Sends each beta to every site (one round) and adds their aggregates."""

    def __init__(self, sites: Sequence, spec_hash: str):
        self.sites = list(sites)
        self.spec_hash = spec_hash
        self.round = 0

    def _evaluator(self, kind: str, outcome: str, covariates, terms):
        def evaluate(beta, derivs: bool = True, meat: bool = False) -> Aggregates:
            self.round += 1
            req = {"protocol": PROTOCOL, "round": self.round, "spec_hash": self.spec_hash, "model": kind,
                   "outcome": outcome, "covariates": list(covariates), "terms": list(terms),
                   "beta": [float(b) for b in beta], "derivs": derivs, "meat": meat}
            parts = []
            for site in self.sites:
                try:
                    parts.append(_aggregates(site.ask(req), site.site, req))
                except SiteStepRefused as exc:
                    raise PoolError(f"{exc}") from exc
            return add_aggregates(parts)
        return evaluate

    def fit(self, kind: str, outcome: str, covariates, terms) -> FederatedFit:
        """Federated site-stratified fit of one model (``cox`` or ``fine_gray``) of one outcome.

        Fine-Gray uses crr's rules with ``gtol = 1e-9`` instead of crr's 1e-6: crr's test scales the
        score by the log-likelihood, which on large data stops up to ~1e-6 (relative) short of the
        optimum; one or two more rounds make the pooled estimate the optimum to ~1e-9.
        """
        evaluate = self._evaluator(kind, outcome, covariates, terms)
        if kind == "cox":
            return federated_cox(evaluate, terms)
        return federated_finegray(evaluate, terms, gtol=FG_GTOL)
