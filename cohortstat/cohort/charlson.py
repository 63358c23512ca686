"""Charlson comorbidity index: the ICD-10 coding of Quan et al. (2005) and the Charlson weights.

Seventeen components, each a list of ICD-10 code prefixes written upper case without the dot (as in
PMSI), taken from Quan et al. (2005), Table 1 ("enhanced ICD-9-CM" column's ICD-10 counterpart, i.e.
the ICD-10 coding algorithm for the Charlson comorbidities). Weights are those of the original index
(Charlson et al. 1987) as tabulated by Quan et al. (2005). Hierarchy rules as usual for the index
(e.g. R package ``comorbidity``, ``assign0``): a patient with diabetes with chronic complications does
not also score uncomplicated diabetes; metastatic solid tumour supersedes any malignancy; moderate or
severe liver disease supersedes mild liver disease. The ``cci_<component>`` columns of the analysis
table are given *after* the hierarchy, so that ``charlson == sum(weight * cci_<component>)``.

References
----------
.. [1] Quan H, Sundararajan V, Halfon P, et al. Coding algorithms for defining comorbidities in
   ICD-9-CM and ICD-10 administrative data. Med Care 2005;43(11):1130-9.
.. [2] Charlson ME, Pompei P, Ales KL, MacKenzie CR. A new method of classifying prognostic
   comorbidity in longitudinal studies: development and validation. J Chronic Dis 1987;40(5):373-83.
"""

from __future__ import annotations

import pandas as pd


def _expand(item: str) -> list[str]:
    """``"I425-I429"`` -> ``["I425", ..., "I429"]``; ``"F00-F03"`` -> ``["F00", ..., "F03"]``."""
    if "-" not in item:
        return [item]
    lo, hi = item.split("-")
    if len(lo) != len(hi) or lo[0] != hi[0]:
        raise ValueError(f"unsupported range {item}")
    letter = lo[0]
    width = len(lo) - 1
    return [f"{letter}{n:0{width}d}" for n in range(int(lo[1:]), int(hi[1:]) + 1)]


#: component name -> (label, weight, ICD-10 prefixes as written in Quan 2005 Table 1)
_CODING: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "mi": ("Myocardial infarction", 1, ("I21", "I22", "I252")),
    "chf": ("Congestive heart failure", 1,
            ("I099", "I110", "I130", "I132", "I255", "I420", "I425-I429", "I43", "I50", "P290")),
    "pvd": ("Peripheral vascular disease", 1,
            ("I70", "I71", "I731", "I738", "I739", "I771", "I790", "I792", "K551", "K558", "K559",
             "Z958", "Z959")),
    "cevd": ("Cerebrovascular disease", 1, ("G45", "G46", "H340", "I60-I69")),
    "dementia": ("Dementia", 1, ("F00-F03", "F051", "G30", "G311")),
    "cpd": ("Chronic pulmonary disease", 1,
            ("I278", "I279", "J40-J47", "J60-J67", "J684", "J701", "J703")),
    "rheumd": ("Rheumatic disease", 1, ("M05", "M06", "M315", "M32-M34", "M351", "M353", "M360")),
    "pud": ("Peptic ulcer disease", 1, ("K25-K28",)),
    "mld": ("Mild liver disease", 1,
            ("B18", "K700-K703", "K709", "K713-K715", "K717", "K73", "K74", "K760", "K762-K764",
             "K768", "K769", "Z944")),
    "diab": ("Diabetes without chronic complication", 1,
             tuple(f"E1{k}{c}" for k in range(0, 5) for c in ("0", "1", "6", "8", "9"))),
    "diabwc": ("Diabetes with chronic complication", 2,
               tuple(f"E1{k}{c}" for k in range(0, 5) for c in ("2", "3", "4", "5", "7"))),
    "hp": ("Hemiplegia or paraplegia", 2,
           ("G041", "G114", "G801", "G802", "G81", "G82", "G830-G834", "G839")),
    "rend": ("Renal disease", 2,
             ("I120", "I131", "N032-N037", "N052-N057", "N18", "N19", "N250", "Z490-Z492", "Z940",
              "Z992")),
    "canc": ("Any malignancy, including lymphoma and leukaemia, except malignant neoplasm of skin", 2,
             ("C00-C26", "C30-C34", "C37-C41", "C43", "C45-C58", "C60-C76", "C81-C85", "C88",
              "C90-C97")),
    "msld": ("Moderate or severe liver disease", 3,
             ("I850", "I859", "I864", "I982", "K704", "K711", "K721", "K729", "K765", "K766", "K767")),
    "metacanc": ("Metastatic solid tumour", 6, ("C77-C80",)),
    "aids": ("AIDS/HIV", 6, ("B20-B22", "B24")),
}

#: the 17 components in the order of Quan 2005 Table 1
COMPONENTS: tuple[str, ...] = tuple(_CODING)
#: Charlson 1987 weights
WEIGHTS: dict[str, int] = {k: w for k, (_, w, _) in _CODING.items()}
LABELS: dict[str, str] = {k: lab for k, (lab, _, _) in _CODING.items()}
#: (superseding component, superseded component): the second scores 0 when the first is present
HIERARCHY: tuple[tuple[str, str], ...] = (("diabwc", "diab"), ("metacanc", "canc"), ("msld", "mld"))
#: default lookback (days before the index admission) for the Charlson diagnoses
DEFAULT_LOOKBACK_DAYS = 730


def prefixes(component: str) -> tuple[str, ...]:
    """The expanded ICD-10 prefixes of one component."""
    out: list[str] = []
    for item in _CODING[component][2]:
        out.extend(_expand(item))
    return tuple(sorted(set(out)))


def concept_name(component: str) -> str:
    """Internal concept-set name of a Charlson component (cannot clash with study names)."""
    return f"__cci_{component}"


def coding_frame() -> pd.DataFrame:
    """All Charlson prefixes as rows ``(concept_set, prefix, exclude=False)``."""
    rows = [
        (concept_name(c), p, False) for c in COMPONENTS for p in prefixes(c)
    ]
    return pd.DataFrame(rows, columns=["concept_set", "prefix", "exclude"])
