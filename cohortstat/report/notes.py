"""Notes of a run as structured data: each known note is a template whose numbers are declared counts or
not, and whose counts are the same variables as the table cells they repeat.

A note such as ``"outcome lung: not at risk (...), time/event left empty: sepsis 0, trauma 7."`` is parsed
by its template into text and two count fields, ``notatrisk[lung, sepsis] = 0`` and ``notatrisk[lung,
trauma] = 7``; those are variables of the report's :class:`~cohortstat.report.disclosure.Ledger`, tied by
relations to the tables (patients of the outcome + not at risk = final cohort), so a note shows a count
exactly as the tables do: its value, ``"<k"`` or ``"*"``. Numbers that are not counts of persons or
events (``cause 1``, ``23 terms``, ``730 days``, ``3 strata``, ``caliper 0.2 SD``) are declared as such and
never suppressed.

A note that matches no template is treated conservatively: every integer in it that is not one of the
known non-count forms is a count, suppressed when small (including one followed by a period).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["NOTE_TEMPLATES", "Note", "NoteTemplate", "parse_note", "render_note"]

_G = r"[A-Za-z_][A-Za-z0-9_]*"
_INT = r"\d+"


@dataclass(frozen=True)
class NoteTemplate:
    """A known note: a regular expression whose named groups are counts (``counts``) or other numbers.

    ``link(match, ctx)`` returns ``{group name: ledger key}`` for the count groups, declaring the
    counts and their relations in ``ctx.ledger``.
    """

    name: str
    pattern: re.Pattern
    counts: tuple[str, ...] = ()
    link: Callable | None = field(default=None, repr=False)


@dataclass
class Note:
    """A parsed note: the text pieces between count fields, and the ledger key of each field."""

    text: str
    spans: list[tuple[int, int, object]]  # (start, end, ledger key) of every count field

    def render(self, ledger) -> str:
        out, last = [], 0
        for start, end, key in self.spans:
            out.append(self.text[last:start])
            out.append(str(ledger.show(key)))
            last = end
        out.append(self.text[last:])
        return "".join(out)


def _not_at_risk(m: re.Match, ctx) -> dict:
    o = m.group("outcome")
    keys = {}
    for grp, cnt in (("g1", "n1"), ("g2", "n2")):
        keys[cnt] = ctx.not_at_risk(o, m.group(grp), int(m.group(cnt)))
    return keys


def _other_causes(m: re.Match, ctx) -> dict:
    return {"n": ctx.other_causes(m.group("outcome"), m.group("model"), int(m.group("n")))}


def _matching(m: re.Match, ctx) -> dict:
    keys = {}
    for a, b, g in (("a1", "b1", "g1"), ("a2", "b2", "g2")):
        keys[a] = ctx.matched_total(m.group(g), int(m.group(a)))
        keys[b] = ctx.cohort_total(m.group(g), int(m.group(b)))
    keys["sets"] = ctx.matched_sets(int(m.group("sets")), keys["a1"])
    return keys


def _ps_model(m: re.Match, ctx) -> dict:
    return ctx.ps_rows(int(m.group("rows")), int(m.group("treated")))


def _own(*groups: str) -> Callable:
    def link(m: re.Match, ctx) -> dict:
        return {g: ctx.own(("note", m.re.pattern, m.group(0), g), int(m.group(g))) for g in groups}

    return link


def _t(name: str, pattern: str, counts: tuple[str, ...] = (), link: Callable | None = None) -> NoteTemplate:
    return NoteTemplate(name, re.compile(pattern), counts, link)


_MODEL_PREFIX = rf"(?P<outcome>{_G}) (?P<model>(?:cox|fg)_[a-z]+): "

#: Every note the package writes. A note with counts names them; the others have none.
NOTE_TEMPLATES: tuple[NoteTemplate, ...] = (
    _t("not_at_risk",
       rf"^outcome (?P<outcome>{_G}): not at risk \(outcome on or before follow-up start: prevalent or during "
       rf"blanking\), time/event left empty: (?P<g1>{_G}) (?P<n1>{_INT}), (?P<g2>{_G}) (?P<n2>{_INT})\.$",
       ("n1", "n2"), _not_at_risk),
    _t("no_event_group", rf"^outcome {_G}: group '{_G}' has no outcome event; estimates for it are not defined\.$"),
    _t("no_event", rf"^{_G}: no outcome event; no model fitted$"),
    _t("charlson", r"^Charlson index \(Quan 2005 ICD-10 coding, Charlson 1987 weights\) from diagnoses in every "
                   r"role of stays admitted from \d+ days before the index admission to the index discharge, "
                   r"index stay included\.$"),
    _t("other_causes",
       rf"^{_MODEL_PREFIX}(?P<n>{_INT}) event\(s\) of other causes treated as censored \(cause-specific hazard "
       rf"of cause \d+\)$", ("n",), _other_causes),
    _t("clusters", rf"^{_MODEL_PREFIX}robust variance clustered on '[^']*' \((?P<n>{_INT}) clusters\)$", ("n",),
       _own("n")),
    _t("fg_clusters", rf"^{_MODEL_PREFIX}robust variance clustered on '[^']*'$"),
    _t("dropped", rf"^{_MODEL_PREFIX}(?P<n>{_INT}) row\(s\) dropped for missing values \((?P<col>{_G}) (?P<m>{_INT})\)$",
       ("n", "m"), _own("n", "m")),
    _t("strata_no_events", rf"^{_MODEL_PREFIX}\d+ of \d+ strata have no events and add nothing to the likelihood$"),
    _t("model_other", rf"^{_MODEL_PREFIX}(?:not converged|Ran out of iterations \(\d+\) and did not converge|"
                      rf"non-integer case weights[^\d]*|.*\(monotone likelihood: .*|"
                      rf"Fine-Gray (?:\(robust\) )?fit did not converge(?: in \d+ iterations)?[^\d]*)$"),
    _t("ps_model",
       rf"^propensity score: logistic regression on \d+ terms, (?P<rows>{_INT}) rows, (?P<treated>{_INT}) exposed$",
       ("rows", "treated"), _ps_model),
    _t("caliper", r"^caliper [\d.eE+-]+ SD of the score = [\d.eE+-]+$"),
    _t("short_sets", rf"^(?P<n>{_INT}) matched sets have fewer than \d+ controls \(variable ratio\)$", ("n",),
       _own("n")),
    _t("exact", r"^exact matching on [^:]*: \d+ strata$"),
    _t("matching",
       rf"^matching: (?P<a1>{_INT}) of (?P<b1>{_INT}) (?P<g1>{_G}) and (?P<a2>{_INT}) of (?P<b2>{_INT}) "
       rf"(?P<g2>{_G}) patients matched in (?P<sets>{_INT}) sets$", ("a1", "b1", "a2", "b2", "sets"), _matching),
    _t("weights", r"^(?:IPTW \(ATE\), (?:un)?stabilized; max weight [\d.eE+-]+|overlap weights \(ATO\))$"),
    _t("no_covariate", r"^no covariate declared: no confounding adjustment possible$"),
    _t("cif_sum", rf"^{_G}: the predicted Fine-Gray cumulative incidences of the outcome and of death \(fg_\w+\) sum "
                  r"to more than one for some persons: the two subdistribution models are mutually inconsistent "
                  r"\(see the diagnostics table\)$"),
    _t("cif_sum_unchecked", rf"^{_G}: the sum of the predicted Fine-Gray cumulative incidences \(fg_\w+\) could "
                            r"not be checked: some predictions are not finite$"),
    _t("imbalance", r"^(?:confounding: )?after \w+, \d+ covariate\(s\) have \|SMD\| > [\d.]+: [^\d]*(?:\d[^\d]*)*$"),
)

# numbers that are not counts in a note of unknown form: "cause 1", "1:2", "3 terms", "730 days", "0.2 SD"
_NOT_COUNT_BEFORE = re.compile(r"(?:cause|alpha|ratio|version|1:|iterations \(|caliper|weight|df|Quan|Charlson)\s*$",
                               re.I)
_NOT_COUNT_AFTER = re.compile(r"^\s*(?:terms?|strata|days?|years?|SD|df|iterations?|covariate|controls|%|:\d|"
                              r"-year|weights|digits)", re.I)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")


def parse_note(text: str, ctx) -> Note:
    """The structured form of one note; counts are declared in ``ctx`` (see :class:`~.protect.Context`)."""
    text = str(text)
    for tpl in NOTE_TEMPLATES:
        m = tpl.pattern.match(text)
        if not m:
            continue
        keys = tpl.link(m, ctx) if tpl.link else {}
        spans = sorted((m.start(g), m.end(g), keys[g]) for g in tpl.counts)
        return Note(text, spans)
    spans = []
    for m in _NUMBER.finditer(text):
        token = m.group(0)
        if "." in token.replace(",", "") and not token.endswith("."):
            continue  # a decimal number is not a count
        if _NOT_COUNT_BEFORE.search(text[: m.start()]) or _NOT_COUNT_AFTER.match(text[m.end():]):
            continue
        value = int(token.replace(",", ""))
        spans.append((m.start(), m.end(), ctx.own(("note", text, m.start()), value)))
    return Note(text, spans)


def render_note(note: Note, ledger) -> str:
    """The note as published."""
    return note.render(ledger)
