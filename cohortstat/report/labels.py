"""Human names for the package's column and term names in every rendered output.

Internal names (``cci_mi``, ``female``, ``_age_band``, ``calendar_year[2011]``) never reach a reader:
the report passes every term, covariate and note through :func:`human` or :func:`human_text`.
"""

from __future__ import annotations

import re

from cohortstat.cohort.charlson import LABELS as CHARLSON_LABELS
from cohortstat.constants import CCI_PREFIX

__all__ = ["human", "human_text"]

_NAMES = {
    "age": "Age", "female": "Female sex", "sex": "Sex", "calendar_year": "Calendar year of index",
    "charlson": "Charlson score", "exposure": "Exposure", "age_band": "Age band", "_age_band": "age band",
    "_logit_ps": "logit of the propensity score", "_rank": "rank", "logit_ps": "logit of the propensity score",
    "ps": "propensity score", "matched_set": "matched set", "(Intercept)": "Intercept", "intercept": "Intercept",
    "GLOBAL": "Global test",
}
_LEVEL = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\[(?:T\.)?(?P<level>[^\]]*)\]$")
_INTERNAL = re.compile(r"(?<![\w])_[a-z][a-z0-9_]*|(?<![\w])cci_[a-z0-9_]+")


def human(name) -> str:
    """The reader's name of a column, covariate or model term (``cci_mi`` -> Myocardial infarction)."""
    if not isinstance(name, str):
        return name
    if name in _NAMES:
        return _NAMES[name]
    if name.startswith(CCI_PREFIX) and name[len(CCI_PREFIX):] in CHARLSON_LABELS:
        return CHARLSON_LABELS[name[len(CCI_PREFIX):]]
    m = _LEVEL.match(name)
    if m:
        return f"{human(m.group('name'))}: {m.group('level')}"
    if name.startswith("_"):
        return name.lstrip("_").replace("_", " ")
    return name


def human_text(text) -> str:
    """Free text (a note) with every internal name replaced by its reader's name."""
    if not isinstance(text, str):
        return text
    return _INTERNAL.sub(lambda m: human(m.group(0)) if m.group(0) in _NAMES or m.group(0).startswith(CCI_PREFIX)
                         else m.group(0).lstrip("_").replace("_", " "), text)
