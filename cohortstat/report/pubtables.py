"""Publication tables as plain data: grouped headers, rows with section headings, footnotes.

One :class:`Table` per table of the report, built from the *published* data only (counts already
suppressed by :mod:`cohortstat.report.published`); :mod:`cohortstat.report.html` renders them in
report.html and tables.html, :mod:`cohortstat.report.xlsx` writes them as one sheet each. Numbers
are formatted here, never computed: the statistics come from the analysis layer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from cohortstat.constants import MODEL_LABELS

__all__ = ["Table", "fmt", "hazard_ratio_table", "incidence_table", "report_tables", "table_one_table"]

SUPPRESSED_NOTE = ("<{k}: a count from 1 to {k1} (not shown); *: a count not shown because with the counts around "
                   "it it would reveal one that is; a percentage, rate or SMD computed from a count not shown is "
                   "not shown either (-).")


@dataclass
class Row:
    """One body row: ``cells`` (text), or a section heading spanning the table (``section=True``)."""

    cells: list[str]
    section: bool = False
    indent: bool = False
    counts: tuple[int, ...] = ()  # cells whose leading number is a count of persons or events

    def split(self, i: int) -> tuple[str, str]:
        """``(count, rest)`` of cell ``i`` when it holds a count (``"1,148 (56.8)"``), else ``("", text)``."""
        text = str(self.cells[i])
        if i not in self.counts:
            return "", text
        head, sep, rest = text.partition(" ")
        return head, sep + rest


@dataclass
class Table:
    """A table as published: ``header`` rows of ``(text, colspan)``, body ``rows``, ``notes``."""

    name: str
    title: str
    header: list[list[tuple[str, int]]]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    text_columns: tuple[int, ...] = (0,)  # left-aligned (text) columns; the others hold numbers

    @property
    def width(self) -> int:
        return sum(span for _, span in self.header[-1])

    def marks(self) -> set[str]:
        """The footnote marks used in the body (``*``, ``<k``, ``†``)."""
        out = set()
        for r in self.rows:
            for c in r.cells:
                c = str(c)
                if "*" in c:
                    out.add("*")
                if c.startswith("<"):
                    out.add("<k")
                if "†" in c:
                    out.add("†")
        return out


def fmt(v, digits: int = 1) -> str:
    """A published value as text: counts with thousands separators, ``"<k"``/``"*"`` as given, None as -."""
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if not math.isfinite(v):
        return "-"
    return f"{v:,.{digits}f}"


def _ci(est, lo, hi, digits: int = 2) -> str:
    """``est (lo to hi)``; ``-`` when the estimate is not shown, a missing limit shown as ``-``."""
    if est is None or (isinstance(est, float) and not math.isfinite(est)):
        return "-"
    return f"{fmt(est, digits)} ({fmt(lo, digits)} to {fmt(hi, digits)})"


def _count_pct(r: dict, g: str) -> str:
    n, pct = r.get(f"n_{g}"), r.get(f"pct_{g}")
    if n is None:  # a weighted table shows percentages only
        return "-" if pct is None else f"{fmt(pct)}%"
    return fmt(n) if pct is None else f"{fmt(n)} ({fmt(pct)})"


def _cell(r: dict, g: str) -> str:
    kind = r["kind"]
    if kind == "n":
        return fmt(r.get(f"n_{g}"))
    if kind == "continuous":
        m, s = r.get(f"mean_{g}"), r.get(f"sd_{g}")
        return "-" if m is None else f"{fmt(m)} ({fmt(s)})"
    if kind == "follow_up":
        med, q1, q3 = (r.get(f"{s}_{g}") for s in ("median", "q1", "q3"))
        return _ci(med, q1, q3, 1)
    return _count_pct(r, g)


def _smd(r: dict) -> str:
    v = r.get("smd")
    if r["kind"] in ("n", "follow_up"):
        return ""
    if v is None:
        return "-" if r["kind"] == "continuous" or r.get("_first") else ""
    return fmt(v, 3)


def _first_rows(rows: list[dict]) -> list[dict]:
    seen = set()
    out = []
    for r in rows:
        r = dict(r)
        r["_first"] = r["variable"] not in seen
        seen.add(r["variable"])
        out.append(r)
    return out


def _shown(r: dict) -> bool:
    """Whether a row is shown (tables without the ``show`` column: every row but a binary's "no")."""
    show = r.get("show")
    return bool(show) if show is not None else r.get("level") != "no"


def _row_label(r: dict) -> tuple[str, bool]:
    """The characteristic's text and whether it is indented (a level under its variable's heading)."""
    r.setdefault("label", r["variable"])
    if not r.get("label"):
        r["label"] = r["variable"]
    if r["kind"] == "n":
        return "Patients, n", False
    if r["kind"] == "continuous":
        return f"{r['label']}, mean (SD)", False
    if r["kind"] == "follow_up":
        return f"{r['label']}, median (IQR)", False
    if r["variable"].endswith(": missing"):
        return f"{r['label']}: missing, n (%)", True
    if r["level"] == "yes":
        return f"{r['label']}, n (%)", False
    return str(r["level"]), True


def _person_years(rows: list[dict], groups) -> list[str] | None:
    fu = next((r for r in rows if r["kind"] == "follow_up"), None)
    if fu is None:
        return None
    return [fmt(fu.get(f"person_years_{g}"), 0) for g in groups]


def _t1_body(rows: list[dict], groups) -> list[tuple[str, str, bool, list[str], bool]]:
    """``(section, label, indent, cells, counts)`` of the shown rows, with a heading row per categorical variable."""
    out = []
    last_var = None
    for r in _first_rows(rows):
        if not _shown(r):
            continue
        r["section"] = r.get("section") or ""
        label, indent = _row_label(r)
        cells = [_cell(r, g) for g in groups] + [_smd(r)]
        is_count = r["kind"] in ("n", "categorical") and any(r.get(f"n_{g}") is not None for g in groups)
        if indent and r["variable"] != last_var and not r["variable"].endswith(": missing"):
            out.append((r["section"], f"{r['label']}, n (%)", False, [""] * len(groups) + [_smd(r)], False))
            cells[-1] = ""
        out.append((r["section"], label, indent, cells, is_count))
        last_var = r["variable"]
        if r["kind"] == "follow_up":
            out.append((r["section"], "Person-years", False, _person_years(rows, groups) + [""], False))
    return out


def table_one_table(data: dict, zero_labels: list[str], zero_reason: str = "") -> Table:
    """Table 1; with an adjusted table (matched or weighted), before and after side by side."""
    groups, labels = data["groups"], data["labels"]
    before = _t1_body(data["table_one"], groups)
    adjusted = data.get("table_one_adjusted") or []
    method = data.get("confounding_method", "none")
    group_cols = [(labels[g], 1) for g in groups] + [("SMD", 1)]
    if adjusted:
        after = {(s, lab): (cells, c) for s, lab, _, cells, c in _t1_body(adjusted, groups)}
        when = "matching" if method == "matching" else "weighting"
        mark = "" if method == "matching" else " †"
        header = [[("", 1), (f"Before {when}", len(groups) + 1), (f"After {when}{mark}", len(groups) + 1)],
                  [("Characteristic", 1)] + group_cols + group_cols]
    else:
        after = None
        header = [[("Characteristic", 1)] + group_cols]
    t = Table("Table 1", "Table 1. Baseline characteristics of the study population", header)
    section = None
    n = len(groups)
    for sec, label, indent, cells, is_count in before:
        if sec and sec != section:
            t.rows.append(Row([sec], section=True))
            section = sec
        counts = tuple(range(1, n + 1)) if is_count else ()
        if after is not None:
            extra, extra_count = after.get((sec, label), (["-"] * (n + 1), False))
            cells = cells + extra
            counts += tuple(range(n + 2, 2 * n + 2)) if extra_count else ()
        t.rows.append(Row([label, *cells], indent=indent, counts=counts))
    t.notes = _t1_notes(data, zero_labels, zero_reason, adjusted, method)
    return t


def _t1_notes(data, zero_labels, zero_reason, adjusted, method) -> list[str]:
    k = data["min_cell_count"]
    notes = ["Values are n (%) unless stated otherwise. SMD: standardized mean difference (Austin 2009); for "
             "variables with more than two levels, the multivariate form of Yang and Dalton (2012). Binary "
             "characteristics are shown by the number of patients who have them.",
             "Follow-up: years from follow-up start to death or end of follow-up (the longest outcome-free "
             "observation over the outcomes); person-years are the sum over the patients of the group.",
             SUPPRESSED_NOTE.format(k=k, k1=k - 1)]
    if zero_labels:
        notes.append("Not shown (no patient of either group has it" + (f"; {zero_reason}" if zero_reason else "")
                     + "): " + "; ".join(zero_labels) + ".")
    if adjusted and method != "matching":
        how = {"iptw": "inverse probability of treatment weights", "overlap": "overlap weights"}.get(method, method)
        notes.append("† Weighted by the propensity-score " + how + ": percentages, means, SDs, "
                     "follow-up and SMDs are weighted; no count is shown (the patients are those before weighting).")
    elif adjusted:
        notes.append("After matching: the matched sample on which the propensity-score models are fitted.")
    return notes


def incidence_table(data: dict) -> Table:
    """Events, person-years, incidence rates and cumulative incidence at 1, 5 and 10 years: of the cohort,
    then (matched or weighted studies) of the analysed population, in a section of its own."""
    labels = data["labels"]
    years = (1, 5, 10)
    header = [[("Outcome", 1), ("Group", 1), ("Patients", 1), ("Events", 1), ("Deaths (competing)", 1),
               ("Person-years", 1), ("Rate per 1000 PY (95% CI)", 1)]
              + [(f"Cumulative incidence at {y} y, %", 1) for y in years]]
    t = Table("Incidence", "Table 2. Events, person-years and incidence of each outcome", header, text_columns=(0, 1))
    analysed = {name: o for name, o in data["outcomes"].items() if o.get("analysed_rates")}
    if analysed:
        t.rows.append(Row(["All patients (before adjustment)"], section=True))
    for name, o in data["outcomes"].items():
        cif = {(c["group"], c["year"]): c["estimate"] for c in o.get("cif_by_year", [])}
        for i, r in enumerate(o["rates"]):
            rate = _ci(r.get("rate"), r.get("rate_lower"), r.get("rate_upper"))
            ci = [fmt(None if cif.get((r["group"], y)) is None else 100 * cif[(r["group"], y)], 2) for y in years]
            t.rows.append(Row([o["label"] if i == 0 else "", labels.get(r["group"], r["group"]), fmt(r.get("n")),
                               fmt(r.get("events")), fmt(r.get("competing_events")),
                               fmt(r.get("person_years"), 0), rate, *ci], counts=(2, 3, 4)))
    if analysed:
        label = next(iter(analysed.values()))["analysed_rates"]["label"]
        t.rows.append(Row([_capitalised(label)], section=True))
        for o in analysed.values():
            t.rows += _analysed_rows(o, labels, years)
    t.notes = _incidence_notes(analysed) + [SUPPRESSED_NOTE.format(k=data["min_cell_count"],
                                                                    k1=data["min_cell_count"] - 1)]
    return t


def _analysed_rows(o: dict, labels: dict, years) -> list[Row]:
    """Table 2 rows of the matched (counts) or weighted (sums of weights) population of one outcome."""
    ar = o["analysed_rates"]
    cif = {(c["group"], c["year"]): c.get("cif_percent") for c in o.get("cif_fixed_times", [])
           if c.get("cause") == "outcome"}
    rows = []
    for i, r in enumerate(ar["rows"]):
        g = r["group"]
        rate = _ci(r.get("rate"), r.get("rate_lower"), r.get("rate_upper"))
        if r.get("rate") is not None and r.get("rate_lower") is None:
            rate = f"{fmt(r['rate'], 2)} (not defined)"  # no weighted event: no robust interval
        ci = [fmt(cif.get((g, y)), 2) for y in years]
        head = [o["label"] if i == 0 else "", labels.get(g, g)]
        if ar["population"] == "matched":
            cells = [fmt(r.get("n")), fmt(r.get("events")), fmt(r.get("competing_events"))]
            rows.append(Row([*head, *cells, fmt(r.get("person_years"), 0), rate, *ci], counts=(2, 3, 4)))
        else:
            cells = ["-", fmt(r.get("weighted_events"), 1), "-"]
            rows.append(Row([*head, *cells, fmt(r.get("weighted_person_years"), 0), rate, *ci]))
    return rows


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def _incidence_notes(analysed: dict) -> list[str]:
    cif = ("Cumulative incidence: Aalen-Johansen estimate with death as a competing event; - when fewer patients "
           "than the minimum cell count remain at risk, or beyond the end of follow-up.")
    exact = "Rates: exact Poisson (Garwood 1936) 95% confidence intervals. " + cif
    if not analysed:
        return [exact]
    ar = [o["analysed_rates"] for o in analysed.values()]
    if ar[0]["population"] == "matched":
        return [exact,
                "Matched population: the patients of the matched sets at risk of each outcome, on whom the "
                "propensity-score models are fitted; its cumulative incidence is read from its drawn curves."]
    notes = ["Rates of all patients: exact Poisson (Garwood 1936) 95% confidence intervals. " + cif,
             f"{_capitalised(ar[0]['label'])}: events and person-years are sums of the "
             "propensity-score weights of the patients (no count is shown: the patients are those before "
             "weighting); rate = weighted events / weighted person-years, 95% confidence interval from the robust "
             "(HC0 sandwich) variance of a weighted Poisson model, on the log scale; cumulative incidence: "
             "weighted Aalen-Johansen estimate, read from its drawn curves."]
    if any(r.get("rate") is not None and r.get("rate_lower") is None for a in ar for r in a["rows"]):
        notes.append("Not defined: no weighted event in the group, so the robust interval of its rate is not defined.")
    return notes


def hazard_ratio_table(data: dict) -> Table:
    """Exposure hazard ratios by outcome and model, with events and E-values."""
    header = [[("Outcome", 1), ("Model", 1), ("Events", 1), ("HR (95% CI)", 1), ("p", 1),
               ("E-value (CI limit)", 1)]]
    t = Table("Hazard ratios", "Table 3. Hazard ratios of the exposure", header, text_columns=(0, 1))
    for name, o in data["outcomes"].items():
        first = True
        for r in o["models"]:
            if r["term"] != "exposure":
                continue
            hr = _ci(r.get("hr"), r.get("ci_lower"), r.get("ci_upper"))
            p = "-" if r.get("p") is None else ("<0.001" if r["p"] < 0.001 else f"{r['p']:.3f}")
            ev = "-" if r.get("e_value") is None else f"{fmt(r['e_value'], 2)} ({fmt(r.get('e_value_ci'), 2)})"
            t.rows.append(Row([o["label"] if first else "", MODEL_LABELS.get(r["model"], r["model"]),
                               fmt(r.get("n_events")), hr, p, ev], counts=(2,)))
            first = False
    t.notes = ["Cox: cause-specific hazard ratio (death censors). Fine-Gray: subdistribution hazard ratio (death "
               "competes). E-value (VanderWeele and Ding 2017): minimum strength of association, on the risk-ratio "
               "scale, that an unmeasured confounder would need with both exposure and outcome to explain away the "
               "hazard ratio of its row, crude or adjusted; in brackets, the same for the confidence limit closest "
               "to 1 (1 when the interval includes 1).",
               SUPPRESSED_NOTE.format(k=data["min_cell_count"], k1=data["min_cell_count"] - 1)]
    dropped = _dropped_note(data)
    if dropped:
        t.notes.insert(1, dropped)
    return t


#: A model's note on rows left out for missing covariate values, as published (counts may read "<k" or "*").
_DROPPED = re.compile(r"^(?P<outcome>\w+) (?P<model>(?:cox|fg)_\w+): (?P<n>\S+) row\(s\) dropped for missing values "
                      r"\((?P<detail>[^)]*)\)$")


def _dropped_note(data: dict) -> str | None:
    """Which models left patients out for a missing covariate value, and how many (from their notes)."""
    parts = []
    for o in data["outcomes"].values():
        found = {m["model"]: f"{m['n']} ({m['detail'].replace('_', ' ')})"
                 for m in (_DROPPED.match(str(n)) for n in o.get("notes", [])) if m}
        if len(set(found.values())) == 1:  # the same rows left out by every model of the outcome
            parts.append(f"{o['label']} {next(iter(found.values()))}")
        else:
            parts += [f"{o['label']}, {MODEL_LABELS.get(m, m)} {v}" for m, v in found.items()]
    if not parts:
        return None
    return ("Missing covariates: the adjusted models are fitted on the patients whose covariates are all recorded "
            "(complete cases; Table 1 shows the missing values); patients left out: " + "; ".join(parts) + ".")


def report_tables(data: dict, zero_labels: list[str], zero_reason: str = "", extra=()) -> list[Table]:
    """Every publication table of a report, in order."""
    return [table_one_table(data, zero_labels, zero_reason), incidence_table(data), hazard_ratio_table(data),
            *extra]
