"""The report's figures as Chromium lays them out: no text outside its figure, no two labels overlapping.

The shipped study (and its matched version) is run on small synthetic data, its report.html copied with a
measuring script (the report itself runs no script: its Content-Security-Policy forbids it), rendered in
headless Chromium, and the bounding box of every SVG ``<text>`` is measured in the DOM. Needs Chromium
(``/usr/bin/chromium``): skipped, with the reason, only when it is absent (CI images without a browser).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import cohortstat as cs

CHROMIUM = Path("/usr/bin/chromium")
STUDY = Path(__file__).resolve().parents[2] / "studies" / "sepsis_cancer.yaml"
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Chromium not installed at {CHROMIUM}: the visual layout "
                       "test needs a browser (apt install chromium)"),
    # small synthetic cohorts: an outcome without events in a group is expected and warned about
    pytest.mark.filterwarnings("ignore::cohortstat.errors.CohortWarning"),
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", "--run-all-compositor-stages-before-draw",
         "--virtual-time-budget=10000", "--window-size=1280,2000"]

# Measures every <svg> of the page: text boxes outside the svg's box, and pairs of intersecting text boxes.
MEASURE = """
<script>
(function () {
  const tol = 0.75, out = [];
  document.querySelectorAll('figure svg').forEach(function (svg, i) {
    const box = svg.getBoundingClientRect();
    const texts = Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim());
    const rects = texts.map(t => t.getBoundingClientRect());
    const fig = {index: i, id: (svg.closest('figure').previousElementSibling || {}).textContent || '',
                 width: box.width, texts: texts.length, outside: [], overlaps: []};
    rects.forEach(function (r, a) {
      if (r.left < box.left - tol || r.right > box.right + tol || r.top < box.top - tol || r.bottom > box.bottom + tol)
        fig.outside.push(texts[a].textContent.trim());
      for (let b = a + 1; b < rects.length; b++) {
        const s = rects[b];
        const w = Math.min(r.right, s.right) - Math.max(r.left, s.left);
        const h = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
        if (w > tol && h > tol) fig.overlaps.push([texts[a].textContent.trim(), texts[b].textContent.trim()]);
      }
    });
    out.push(fig);
  });
  const pre = document.createElement('pre');
  pre.id = 'layout-measurements';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def _study(method: str):
    data = yaml.safe_load(STUDY.read_text())
    if method != "none":
        data["analyses"]["confounding"] = {"method": method, "ratio": 1, "exact": ["sex"]}
    return cs.load_study(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory):
    from cohortstat.data.synth import generate

    out = tmp_path_factory.mktemp("visual") / "data"
    generate(5000, 1, out)
    return out


def _report(study, data, out: Path) -> Path:
    cohort = cs.build_cohort(study, data=data, engine="duckdb")
    cs.write_report(cs.analyze(study, cohort), out=out, min_cell_count=10)
    return out / "report.html"


def measure(page: Path, tmp: Path) -> list[dict]:
    """Layout measurements of every figure of ``page`` (a report.html) in headless Chromium."""
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    probe = tmp / f"measure-{page.parent.name}.html"
    probe.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    proc = subprocess.run([str(CHROMIUM), *FLAGS, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'<pre id="layout-measurements">(.*?)</pre>', proc.stdout, flags=re.S)
    assert found, "the measuring script did not run"
    return json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def _check(figures: list[dict], expected_min: int) -> None:
    assert len(figures) >= expected_min
    assert all(f["texts"] > 0 and f["width"] > 100 for f in figures)
    outside = {f["id"].strip()[:40] or f["index"]: f["outside"] for f in figures if f["outside"]}
    overlaps = {f["id"].strip()[:40] or f["index"]: f["overlaps"][:5] for f in figures if f["overlaps"]}
    assert not outside, f"text outside its figure: {outside}"
    assert not overlaps, f"overlapping labels: {overlaps}"


def test_shipped_study_figures_have_no_overflow_or_overlap(synth_data, tmp_path):
    study = _study("none")
    page = _report(study, synth_data, tmp_path / "shipped")
    figures = measure(page, tmp_path)
    # flow, forest and one CIF figure per outcome
    _check(figures, 2 + len(study.outcomes))


def test_matched_study_figures_have_no_overflow_or_overlap(synth_data, tmp_path):
    study = _study("matching")
    page = _report(study, synth_data, tmp_path / "matched")
    figures = measure(page, tmp_path)
    # flow, forest, CIF per outcome, Love plot, preference-score plot
    _check(figures, 4 + len(study.outcomes))
    assert "(matched population)" in page.read_text(encoding="utf-8")


def test_the_measurement_catches_overflow_and_overlap(tmp_path):
    """Control: a figure with a label outside its box and two labels on top of each other is caught."""
    page = tmp_path / "control" / "report.html"
    page.parent.mkdir()
    page.write_text('<html><body><h3>ctl</h3><figure><svg width="300" height="100" xmlns="http://www.w3.org/2000/svg">'
                    '<text x="10" y="50">Number at risk</text><text x="20" y="50">Sepsis</text>'
                    '<text x="280" y="50">overflowing label</text></svg></figure></body></html>')
    [fig] = measure(page, tmp_path)
    assert fig["outside"] == ["overflowing label"]
    assert ["Number at risk", "Sepsis"] in fig["overlaps"]

