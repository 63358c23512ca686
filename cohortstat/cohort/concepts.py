"""Concept-set matching: which diagnosis codes belong to which concept set.

A code matches a concept set when it starts with one of the set's include prefixes and with none of
its exclude prefixes (BRIEF contract; prefixes are canonical after loading the study). Prefixes are
held as data in a lookup table and joined on ``substr(code, 1, len(prefix))`` one prefix length at a
time (equi-joins, hash-joinable on both engines) over the *distinct* codes of the data; the resulting
code -> concept map is then joined to every diagnosis. No code is ever written into SQL text.
"""

from __future__ import annotations

import ibis
import pandas as pd

from cohortstat.cohort import charlson
from cohortstat.engines import Engine


def concept_frame(study, names: set[str], with_charlson: bool) -> pd.DataFrame:
    """Rows ``(concept_set, prefix, exclude)`` for the named study concept sets (+ Charlson)."""
    rows = []
    for name in sorted(names):
        cs = study.concept_sets[name]
        rows += [(name, p, False) for p in cs.include]
        rows += [(name, p, True) for p in cs.exclude]
    frame = pd.DataFrame(rows, columns=["concept_set", "prefix", "exclude"])
    if with_charlson:
        frame = pd.concat([frame, charlson.coding_frame()], ignore_index=True)
    frame["plen"] = frame["prefix"].str.len().astype("int64")
    frame["exclude"] = frame["exclude"].astype(bool)
    return frame


def code_map(engine: Engine, diagnoses: ibis.Table, frame: pd.DataFrame) -> ibis.Table:
    """Materialised table ``(icd10_code, concept_set)`` over the distinct codes of the data."""
    lookup = engine.lookup(frame, "concepts")
    codes = engine.materialize(diagnoses.select("icd10_code").distinct(), "codes")
    parts = []
    for plen in sorted(frame["plen"].unique()):
        sub = lookup.filter(lookup.plen == int(plen))
        c = codes.mutate(code_head=codes.icd10_code.substr(0, int(plen)))
        parts.append(
            c.join(sub, c.code_head == sub.prefix).select("icd10_code", "concept_set", "exclude")
        )
    matched = ibis.union(*parts) if len(parts) > 1 else parts[0]
    include = matched.filter(~matched.exclude).select("icd10_code", "concept_set").distinct()
    exclude = matched.filter(matched.exclude).select("icd10_code", "concept_set").distinct()
    result = include.anti_join(exclude, ["icd10_code", "concept_set"])
    return engine.materialize(result, "code_map")


def occurrences(engine: Engine, inputs, cmap: ibis.Table) -> ibis.Table:
    """Materialised diagnoses in a used concept set, dated by their stay's admission.

    Columns: patient_id, stay_id, adm, dis, role, concept_set.
    """
    d = inputs.diagnoses.join(cmap, "icd10_code").select("stay_id", "role", "concept_set")
    s = inputs.stays
    occ = d.join(s, "stay_id").select(
        "patient_id", "stay_id", "adm", "dis", "role", "concept_set"
    )
    return engine.materialize(occ, "occurrences")
