"""report.html in headless Chromium: renders, no console message, no network request from the page.

Choice (recorded in docs/user-guide.md): skips are defects here, so this test never skips. When Debian's
``/usr/bin/chromium`` is present it renders the report (and a control page that does make a request and
log to the console, so the detection is shown to work); when it is absent (CI images without a browser)
it checks statically what Chromium would otherwise prove: no <script>, no <link>, no external URL and a
well-formed document that the HTML parser reads to the end.
"""

from __future__ import annotations

import html.parser
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from cohortstat.analysis import OutcomeResults, StudyResults
from cohortstat.report.writer import write_report
from cohortstat.spec import load_study
from tests.core_study import core_study_path

CHROMIUM = Path("/usr/bin/chromium")
STUDY = core_study_path()
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--enable-logging=stderr", "--v=0"]


def _results() -> StudyResults:
    """A small but complete StudyResults built from a real Cox fit and real aggregates (no data files)."""
    from cohortstat.models import CoxPH, ph_test
    from cohortstat.analysis import incidence_rate, table_one

    study = load_study(STUDY)
    rng = np.random.default_rng(11)
    n = 600
    exp = rng.integers(0, 2, n)
    t = pd.DataFrame({"group": np.where(exp == 1, "sepsis", "trauma"), "exposure": exp,
                      "age": rng.integers(18, 90, n), "sex": rng.integers(1, 3, n),
                      "calendar_year": rng.integers(2010, 2017, n), "charlson": rng.poisson(1, n),
                      "tobacco": rng.integers(0, 2, n), "alcohol": rng.integers(0, 2, n)})
    time = rng.exponential(2000 / np.exp(0.5 * exp), n).round()
    cens = rng.uniform(0, 2500, n).round()
    t["time_lung"] = np.minimum(time, cens) + 1
    t["event_lung"] = (time <= cens).astype(int)
    cox = CoxPH().fit(t, duration="time_lung", event="event_lung", covariates=["exposure", "age"])
    models = cox.table()
    models.insert(0, "model", "cox_adjusted")
    models["n"], models["n_events"] = cox.n, cox.n_events
    models["e_value"], models["e_value_ci"] = 1.5, 1.0
    rates = []
    for g in ("sepsis", "trauma"):
        part = t[t["group"] == g]
        ev, py = int(part["event_lung"].sum()), part["time_lung"].sum() / 365.25
        rates.append({"group": g, "n": len(part), "events": ev, "competing_events": 0, "person_years": py,
                      **incidence_rate(ev, py)})
    cif = []
    for g in ("sepsis", "trauma"):
        part = t[t["group"] == g].sort_values("time_lung")
        at = len(part) - np.arange(len(part))
        cif.append(pd.DataFrame({"group": g, "time": part["time_lung"], "n_risk": at, "n_event": part["event_lung"],
                                 "estimate": part["event_lung"].cumsum() / len(part), "se": 0.0}))
    at_risk = pd.DataFrame([{"group": g, "year": y, "n_risk": int(((t["group"] == g) & (t["time_lung"] >= y * 365.25)).sum())}
                            for g in ("sepsis", "trauma") for y in range(0, 8)])
    o = OutcomeResults(name="lung", label="Lung cancer", rates=pd.DataFrame(rates), cif=pd.concat(cif), at_risk=at_risk,
                       gray={"stat": 3.2, "df": 1, "p": 0.07}, models=models,
                       ph=ph_test(cox).reset_index(names="term"), ph_violated=False)
    att = pd.DataFrame({"step": [0, 1], "rule_id": ["entry", "adult"], "description": ["Entry", "Adults"],
                        "n_sepsis": [400, (t.group == "sepsis").sum()], "n_trauma": [420, (t.group == "trauma").sum()]})
    return StudyResults(study=study, groups=("sepsis", "trauma"), labels={"sepsis": "Sepsis", "trauma": "Trauma"},
                        attrition=att, table_one=table_one(t, exposed="sepsis", reference="trauma",
                                                           flags=["tobacco", "alcohol"]), outcomes=(o,))


class _Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def _page_requests(netlog: Path) -> list[str]:
    """URLs requested by the page (initiator is the page's origin), not by the browser's own services."""
    d = json.loads(netlog.read_text())
    types = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    by_source, page_sources = {}, set()
    for e in d["events"]:
        p = e.get("params") or {}
        src = e["source"]["id"]
        if "url" in p:
            by_source.setdefault(src, p["url"])
        if types.get(e["type"]) == "URL_REQUEST_START_JOB" and p.get("initiator", "not an origin") != "not an origin":
            page_sources.add(src)
    return sorted(by_source.get(s, "?") for s in page_sources)


def _render(page: Path, tmp: Path) -> tuple[str, str, list[str]]:
    netlog = tmp / f"{page.stem}.netlog.json"
    proc = subprocess.run([str(CHROMIUM), *FLAGS, f"--log-net-log={netlog}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr, _page_requests(netlog)


def test_report_renders_offline(tmp_path):
    out = write_report(_results(), out=tmp_path / "out", min_cell_count=10)
    page = out / "report.html"
    text = page.read_text()
    if CHROMIUM.exists():
        dom, log, requests = _render(page, tmp_path)
        assert "Table 1. Baseline characteristics" in dom and "<svg" in dom
        assert "CONSOLE" not in log, [line for line in log.splitlines() if "CONSOLE" in line]
        assert requests == []
        # control: a page that fetches and logs is caught by the same checks
        ctl = tmp_path / "control.html"
        ctl.write_text('<html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script></body></html>')
        _, log, requests = _render(ctl, tmp_path)
        assert "boom" in log and "CONSOLE" in log
        assert requests == ["http://127.0.0.1:9/x.png"]
    else:
        parser = _Parser()
        parser.feed(text)
        parser.close()
        assert {"script", "link", "iframe", "img", "object"}.isdisjoint(parser.tags)
        assert "svg" in parser.tags and parser.tags[-1] != "head"
        bare = re.sub(r'xmlns(:xlink)?="http://www\.w3\.org/[^"]*"', "", text)
        assert not re.search(r"https?://|@import|url\((?!#)", bare)
