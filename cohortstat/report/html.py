"""report.html: one self-contained file (inline CSS and SVG, no script, font or URL) rendered with Jinja2.

The template reads the *suppressed* data of :func:`cohortstat.report.writer.suppress_results` only; the
methods paragraph is generated from the study spec.
"""

from __future__ import annotations

import platform
from importlib import metadata

import jinja2
from markupsafe import Markup

from cohortstat.constants import MODEL_LABELS
from cohortstat.report.labels import human, human_text
from cohortstat.report.methods import fingerprint_digest, methods_text
from cohortstat.report.safe_text import plain

__all__ = ["methods_text", "publication_tables", "render_html", "software_versions"]

_PACKAGES = ("cohortstat", "numpy", "pandas", "scipy", "statsmodels", "duckdb", "ibis-framework", "matplotlib",
             "jinja2", "openpyxl", "pyspark")


def software_versions() -> dict[str, str]:
    """Python and the versions of the packages a run depends on (installed or importable)."""
    out = {"python": platform.python_version()}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            if p == "cohortstat":
                from cohortstat._version import __version__

                out[p] = __version__
    return out


def _num(v, digits: int = 2) -> str:
    from cohortstat.report.pubtables import fmt

    return fmt(v, digits)


def _p(v) -> str:
    if v is None:
        return "-"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _finalize(value):
    """Every value printed by the template, without control characters (then HTML-escaped)."""
    if isinstance(value, Markup):
        return Markup(plain(str(value)))
    if isinstance(value, str):
        return plain(value)
    return value


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("cohortstat.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    finalize=_finalize,
)
_ENV.filters["num"] = _num
_ENV.filters["p"] = _p
_ENV.filters["method"] = lambda v: {"iptw": "inverse probability of treatment weighting",
                                    "overlap": "overlap weighting"}.get(v, v)
_ENV.filters["term"] = lambda v: human_text(human(v)) if isinstance(v, str) else v


def publication_tables(results, data: dict) -> list:
    """The publication tables of the report (Table 1, incidence, hazard ratios, STROBE/RECORD checklist)."""
    from cohortstat.analysis.table_one import zero_rows
    from cohortstat.report.methods import zero_by_design_reason
    from cohortstat.report.strobe import strobe_table
    from cohortstat.report.design_tables import design_tables
    from cohortstat.report.pubtables import report_tables

    zeros = zero_rows(results.table_one, results.groups)
    variants = {name: name.replace("_", " ") for name in (getattr(results.study, "sensitivity", None) or {})}
    return report_tables(data, zeros, zero_by_design_reason(results.study) if zeros else "",
                         extra=(*design_tables(data, variants), strobe_table(results.study, data)))


def render_html(results, data: dict, svgs: dict[str, str], tables: list | None = None) -> str:
    """The report as one HTML string (data: suppressed results; svgs: figure name -> SVG text)."""
    from cohortstat.report.methods import SOURCE_NAMES

    provenance = data.get("provenance") or {}
    versions = provenance.get("versions") or software_versions()
    tables = publication_tables(results, data) if tables is None else tables
    template = _ENV.get_template("report.html.j2")
    fps = provenance.get("data_fingerprint")
    source = provenance.get("source")
    return template.render(
        d=data,
        study=results.study,
        methods=methods_text(results.study, versions, provenance or None),
        figures={k: Markup(v) for k, v in svgs.items()},
        tables=tables[:3],
        designs=tables[3:-1],
        strobe=tables[-1],
        data_source=SOURCE_NAMES.get(source, source) if source else "",
        fingerprint=fingerprint_digest(fps) if fps else "",
        model_labels=dict(MODEL_LABELS),
    )
