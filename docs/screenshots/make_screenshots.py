"""Screenshots of a report's sections for the README: ``python docs/screenshots/make_screenshots.py OUT``.

OUT is a report folder (``cohortstat run ... --out OUT``). Each section (flow, hazard ratios, cumulative
incidence) is cut into a page of its own, rendered by headless Chromium and reduced to a small PNG.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
SECTIONS = {"flow": ("flow", 1500), "hazard_ratios": ("hr", 1560), "designs": ("designs", 1400),
            "cumulative_incidence": ("cif", 1250)}


def section(html: str, anchor: str) -> str:
    """The report's head and one section (from its <h2> to the next)."""
    head = html[: html.index("<body>") + len("<body>")]
    start = html.index(f'<h2 id="{anchor}"')
    end = html.find("<h2", start + 4)
    return head + html[start:end if end > 0 else None] + "</body></html>"


def main(out: str) -> None:
    html = (Path(out) / "report.html").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (anchor, height) in SECTIONS.items():
            page = Path(tmp) / f"{name}.html"
            page.write_text(section(html, anchor), encoding="utf-8")
            shot = Path(tmp) / f"{name}.png"
            subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--window-size=1000,{height}", f"--screenshot={shot}", page.as_uri()],
                           check=True, capture_output=True, timeout=120)
            im = Image.open(shot).convert("RGB")
            im.thumbnail((800, 2000))
            im.quantize(colors=64).save(HERE / f"report_{name}.png", optimize=True)


if __name__ == "__main__":
    main(re.sub(r"/$", "", sys.argv[1]))
