"""Synthetic PMSI-like hospital data with planted, documented effects.

:func:`generate` writes ``patients.parquet``, ``stays.parquet``, ``diagnoses.parquet`` and
``truth.json`` into a folder; :func:`ground_truth_table` returns the analysis table that the
shipped study (studies/sepsis_cancer.yaml) should produce from that data, computed from the latent
variables of the generator. The model and every planted parameter are described in
docs/synthetic-data.md and written to ``truth.json``.

Patients are simulated in fixed-size chunks (``CHUNK_PATIENTS``), each with its own random stream
``SeedSequence([seed, chunk])``, so memory stays bounded and the output depends only on
``(n_patients, seed)`` and the generator version, never on the machine. Same seed -> byte-identical
files (fixed compression, row groups, no timestamps).

References
----------
.. [1] Quan H, Sundararajan V, Halfon P, et al. Coding algorithms for defining comorbidities in
   ICD-9-CM and ICD-10 administrative data. Med Care 2005;43(11):1130-9.
.. [2] Bender R, Augustin T, Blettner M. Generating survival times to simulate Cox proportional
   hazards models. Stat Med 2005;24(11):1713-23 (exponential times by inversion).
.. [3] Beyersmann J, Latouche A, Buchholz A, Schumacher M. Simulating competing risks data in
   survival analysis. Stat Med 2009;28(6):956-71 (cause-specific hazards as the simulation model).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cohortstat.data import _synth_params as P
from cohortstat.data import schema
from cohortstat.data._synth_design import DESIGN_OUTCOME_NAMES, SLOT_WIDTH, add_design, merge
from cohortstat.data._synth_sim import Chunk, simulate_chunk

__all__ = ["generate", "ground_truth_table", "truth"]

_MASK60 = np.uint64((1 << 60) - 1)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
#: outcomes of the ground-truth table: the planted sites, any cancer, the design outcomes and the
#: negative controls (``nc_<name>``)
TRUTH_OUTCOMES = (*P.OUTCOME_CODES, "all_cancers", *DESIGN_OUTCOME_NAMES)
#: comparators of :func:`ground_truth_table`
REFERENCES = ("trauma", "nonsevere_infection")


def _keys(seed: int) -> tuple[np.uint64, np.uint64]:
    k = np.random.SeedSequence([int(seed), 0xC0]).generate_state(2, dtype=np.uint64)
    return k[0] & _MASK60, k[1] & _MASK60


def _mix60(x: np.ndarray, key: np.uint64) -> np.ndarray:
    """A bijection of 60-bit integers (odd multiplications and xor-shifts mod 2**60)."""
    x = (x.astype(np.uint64) + key) & _MASK60
    x = (x * np.uint64(0x9E3779B97F4A7C15)) & _MASK60
    x ^= x >> np.uint64(31)
    x = (x * np.uint64(0xBF58476D1CE4E5B9)) & _MASK60
    x ^= x >> np.uint64(29)
    return x


def pseudo_ids(numbers: np.ndarray, key: np.uint64, prefix: str) -> pa.Array:
    """16-character pseudonymous ids: ``prefix`` + 15 hex digits of a keyed bijection of ``numbers``."""
    x = _mix60(numbers, key)
    n = len(x)
    shifts = np.arange(56, -1, -4, dtype=np.uint64)
    chars = np.empty((n, 16), dtype=np.uint8)
    chars[:, 0] = ord(prefix)
    chars[:, 1:] = _HEX[((x[:, None] >> shifts) & np.uint64(15)).astype(np.intp)]
    offsets = np.arange(0, 16 * (n + 1), 16, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=mask).view(pa.date32())


def _chunks(n_patients: int, seed: int) -> Iterator[tuple[int, Chunk]]:
    for c, start in enumerate(range(0, n_patients, P.CHUNK_PATIENTS)):
        n = min(P.CHUNK_PATIENTS, n_patients - start)
        yield start, _simulate(int(seed), c, start, n)


def _stream(seed: int, chunk: int, name: str | None = None) -> np.random.Generator:
    key = [seed, chunk] if name is None else [seed, chunk, P.DESIGN_STREAMS[name]]
    return np.random.default_rng(np.random.SeedSequence(key))


def _simulate(seed: int, c: int, start: int, n: int) -> Chunk:
    """Chunk ``c``: the index patients (stream [seed, c], unchanged since 1.0.0), their design
    outcomes, then the nonsevere-infection patients (streams [seed, c, k])."""
    index = add_design(simulate_chunk(_stream(seed, c), n), _stream(seed, c, "index_design"), "index")
    m = int(round(n * P.NONSEVERE_PER_PATIENT))
    ns = simulate_chunk(_stream(seed, c, "nonsevere"), m, group="nonsevere")
    ns = add_design(ns, _stream(seed, c, "nonsevere_design"), "nonsevere")
    return merge(index, ns, start)


def _tables(start: int, ch: Chunk, keys) -> dict[str, pa.Table]:
    pk, sk = keys
    p, s, d = ch.patient, ch.stays, ch.diagnoses
    pid = pseudo_ids(p["gnum"], pk, "P")
    patients = pa.Table.from_arrays(
        [pid, pa.array(p["birth_year"].astype(np.int32), mask=p["birth_missing"]), pa.array(p["sex"]),
         _dates(np.where(p["death_on_patient"], p["death_day"], 0), mask=~p["death_on_patient"])],
        schema=schema.PATIENTS)
    # stays ordered by patient, slot, admission, discharge; stay number = global patient * 64 +
    # slot * 32 + rank within the slot (slot 1: the design outcomes, so the other ids never move)
    order = np.lexsort((s["dis"], s["adm"], s["slot"], s["pat"]))
    pat = s["pat"][order]
    slot = s["slot"][order].astype(np.int64)
    key = pat * 2 + slot
    first = np.searchsorted(key, key, side="left")
    rank = np.arange(len(pat)) - first
    if len(rank) and rank.max() >= SLOT_WIDTH:
        raise AssertionError("more stays per patient and slot than the stay numbering allows")
    snum = p["gnum"][pat] * np.uint64(64) + (slot * SLOT_WIDTH + rank).astype(np.uint64)
    sid = pseudo_ids(snum, sk, "S")
    modes = pa.array(list(P.MODES), type=pa.string())
    stays = pa.Table.from_arrays(
        [sid, pid.take(pa.array(pat)), _dates(s["adm"][order]), _dates(s["dis"][order]),
         modes.take(pa.array(s["mode"][order].astype(np.int32)))],
        schema=schema.STAYS)
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order))
    dpos = pos[d["stay"]]
    dorder = np.lexsort((d["code"], d["role"], dpos))
    vocab = pa.array(list(P.VOCAB), type=pa.string())
    roles = pa.array(list(P.ROLES), type=pa.string())
    diagnoses = pa.Table.from_arrays(
        [sid.take(pa.array(dpos[dorder])), vocab.take(pa.array(d["code"][dorder])),
         roles.take(pa.array(d["role"][dorder].astype(np.int32)))],
        schema=schema.DIAGNOSES)
    return {"patients": patients, "stays": stays, "diagnoses": diagnoses}


def _counts(p: dict[str, np.ndarray]) -> dict[str, int]:
    ns = p["nonsevere"]
    e, b = p["exposed"][~ns], p["both"][~ns]
    return {
        "patients": int(len(ns)),
        "patients_index": int((~ns).sum()),
        "patients_nonsevere": int(ns.sum()),
        "index_exposed": int((e | b).sum()),
        "index_reference": int((~e | b).sum()),
        "index_exposed_only": int((e & ~b).sum()),
        "index_reference_only": int((~e & ~b).sum()),
        "unmeasured_u": int(p["u"].sum()),
        **{f"events_recorded_{k}": int(p[f"rec_{k}"].sum()) for k in DESIGN_OUTCOME_NAMES},
        "both": int(b.sum()),
        "prior_cancer": int(p["prior_cancer"].sum()),
        "minors": int(p["minor"].sum()),
        "birth_year_missing": int(p["birth_missing"].sum()),
        "index_deaths": int(p["index_death"].sum()),
        "deaths_after_index": int((p["dead"] & ~p["index_death"]).sum()),
        "deaths_in_hospital_after_index": int(p["in_hospital_death"].sum()),
        "deaths_only_on_stay": int((p["dead"] & ~p["death_on_patient"]).sum()),
        **{f"cancers_recorded_{k}": int(p[f"rec_{k}"].sum()) for k in P.OUTCOME_CODES},
    }


def truth(n_patients: int, seed: int, counts: dict[str, int] | None = None) -> dict:
    """The content of ``truth.json``: seed, size, version, model, planted parameters, counts."""
    return {
        "generator": "cohortstat.data.synth",
        "generator_version": P.GENERATOR_VERSION,
        "seed": int(seed),
        "n_patients": int(n_patients),
        "model": {
            "outcomes": (
                "Cause-specific hazards, constant in time since the index discharge (exponential "
                "times, rounded up to whole days): h_k(t | x) = base_k / 365.25 * exp(age*(age_years - 60) "
                "+ female*[sex == 2] + charlson*score + tobacco*flag + exposure*[sepsis group]). "
                "The log-hazard ratios are those a cause-specific Cox model of outcome k (death and "
                "follow-up end censoring it) with covariates age (years), sex, charlson, tobacco and "
                "exposure recovers, with any time origin after the discharge (e.g. after the "
                "365-day blanking of the shipped study): the hazards are constant, so PH holds. "
                "Cancer sites are independent; death is independent of cancer and competes with it. "
                "They are not subdistribution (Fine-Gray) hazard ratios."),
            "charlson": ("Charlson score (Quan 2005 coding, Charlson 1987 weights, usual hierarchy) of the "
                         "codes of the index stay and the prior-cancer stay, i.e. the score the cohort "
                         "builder computes over [index admission - 730 days, index discharge]."),
            "exposure": "logistic in age, sex, Charlson (before the index), tobacco and alcohol "
                        "(planted confounding: crude and adjusted hazard ratios differ)",
            "outcome_date": "admission date of the stay coding the cancer (principal diagnosis)",
            "end_of_data": P.DATA_END,
        },
        "planted": P.planted(),
        "parameter_meanings": {
            "outcomes": "per cancer site: base_per_year = hazard per year at age 60, male, Charlson 0, "
                        "no tobacco, reference group; age (per year), female, charlson (per point), tobacco, "
                        "exposure = cause-specific log-hazard ratios (the planted truth; exp(exposure) = HR)",
            "death": "same form for death after the index discharge (competing event)",
            "exposure_logit": "logistic model of being in the sepsis group (confounding by age, sex, "
                              "Charlson, tobacco, alcohol)",
            "index_death_logit": "logistic model of dying during the index stay",
            "comorbidity": "Charlson component -> (logit at age 70, logit slope per 10 years, ICD-10 codes)",
            "p_both": "probability of a second qualifying stay of the other kind in the study period",
            "prior_cancer_logit": "logistic model of a cancer code within 730 days before the index",
            "p_minor": "share of patients aged 0-17 at the index admission",
            "outcome_codes": "ICD-10 codes of the stays recording each cancer (principal diagnosis)",
            "chunk_patients": "patients per simulation chunk (random stream SeedSequence([seed, chunk]))",
            "design_streams": "extra random streams SeedSequence([seed, chunk, k]) of the study-design additions",
            "unmeasured_u": "P(U = 1) of the unmeasured binary confounder by group (U is never coded in the data)",
            "design_outcomes": "myeloid (age-band effect) and in_situ (period effect): same form as outcomes, "
                               "exposure given by myeloid_exposure_by_age_band / in_situ_exposure_by_period",
            "age_band_edges": "age bands [edge_k, edge_k+1) at the index admission of the myeloid effect",
            "period_edges_days": "periods [edge_k, edge_k+1) in days since the index discharge of the in_situ effect",
            "negative_controls": "per negative control: base_per_year, age (per year), u = log-HR of U; "
                                 "no exposure effect (HR 1 given U)",
            "negative_control_marginal_log_hr": "implied log-HR of exposure of each negative control when U is "
                                                "not adjusted for (rare-outcome value)",
            "sepsis_vs_nonsevere": "cause-specific log-HR of sepsis vs nonsevere infection (adjusted for age, "
                                   "sex, Charlson, tobacco) for the cancer sites and death",
            "nonsevere_vs_reference_log_hr": "log-HR of the nonsevere-infection group vs the trauma group",
            "nonsevere_per_patient": "nonsevere-infection patients generated per index patient",
        },
        "counts": counts or {},
    }


def generate(n_patients: int, seed: int, out_dir: str | Path, *, layout: str = "pmsi",
             csv: bool = False) -> Path:
    """Write synthetic hospital data for ``n_patients`` patients into ``out_dir``.

    ``layout`` ``"snds"`` or ``"omop"`` writes the same population as the SNDS PMSI-MCO tables or an
    OMOP CDM copy, with planted layout anomalies listed in ``truth.json`` under ``planted_layout``
    (:mod:`cohortstat.data.synth_layouts`); ``csv`` writes ``;``-separated CSV files instead of parquet
    (SNDS and OMOP layouts).

    Parameters
    ----------
    n_patients : number of patients (each has one index stay in the study period).
    seed : random seed; the same ``(n_patients, seed)`` gives byte-identical files.
    out_dir : folder to write ``patients.parquet``, ``stays.parquet``, ``diagnoses.parquet`` and
        ``truth.json`` into (created if needed; existing files are overwritten).

    Returns
    -------
    pathlib.Path : the output folder.
    """
    if isinstance(n_patients, bool) or not isinstance(n_patients, (int, np.integer)) or n_patients < 1:
        raise ValueError(f"n_patients must be a positive integer, got {n_patients!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    from cohortstat.data.synth_layouts import LAYOUTS, write_layout

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    final = Path(out_dir)
    if layout != "pmsi":
        final.mkdir(parents=True, exist_ok=True)
        import tempfile

        with tempfile.TemporaryDirectory(prefix=".synth-pmsi-", dir=final) as tmp:
            _generate_pmsi(n_patients, seed, Path(tmp))
            planted = write_layout(tmp, final, layout, csv=csv)
            doc = json.loads((Path(tmp) / "truth.json").read_text(encoding="utf-8"))
        doc["layout"] = layout
        doc["planted_layout"] = planted
        (final / "truth.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return final
    return _generate_pmsi(n_patients, seed, final)


def _generate_pmsi(n_patients: int, seed: int, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    keys = _keys(seed)
    writers = {
        t: pq.ParquetWriter(out / schema.file_name(t), sch, compression=P.COMPRESSION,
                            compression_level=P.COMPRESSION_LEVEL, use_dictionary=True,
                            write_statistics=True)
        for t, sch in schema.SCHEMAS.items()
    }
    totals: dict[str, int] = {}
    try:
        for start, ch in _chunks(int(n_patients), int(seed)):
            for t, table in _tables(start, ch, keys).items():
                writers[t].write_table(table, row_group_size=P.ROW_GROUP_ROWS)
                totals[f"rows_{t}"] = totals.get(f"rows_{t}", 0) + table.num_rows
            for k, v in _counts(ch.patient).items():
                totals[k] = totals.get(k, 0) + v
            del ch
    finally:
        for w in writers.values():
            w.close()
    doc = truth(n_patients, seed, totals)
    (out / "truth.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def _truth_frame(ch: Chunk, keys, blanking_days: int, reference: str = "trauma") -> pd.DataFrame:
    p = ch.patient
    B = int(blanking_days)
    D = np.where(p["dead"], p["death_off"], np.iinfo(np.int64).max // 4)
    E = p["end_off"]
    if reference == "trauma":  # the index population, one kind of index stay only
        group = ~p["nonsevere"] & ~p["both"]
    else:  # sepsis patients (with or without a trauma stay) and the nonsevere-infection patients
        group = p["exposed"] | p["nonsevere"]
    keep = (group & ~p["minor"] & ~p["birth_missing"] & ~p["prior_cancer"] & ~p["index_death"]
            & (D > B) & (E > B))
    pid = pseudo_ids(p["gnum"], keys[0], "P").to_numpy(zero_copy_only=False)
    cols: dict[str, np.ndarray] = {
        "patient_id": pid[keep], "exposure": p["exposed"][keep].astype(np.int64), "age": p["age"][keep],
        "sex": p["sex"][keep].astype(np.int64), "calendar_year": p["year"][keep],
        "charlson": p["charlson"][keep], "tobacco": p["tobacco"][keep].astype(np.int64),
        "alcohol": p["alcohol"][keep].astype(np.int64),
        "index_admission": p["adm"][keep], "index_discharge": p["dis"][keep],
        "unmeasured_u": p["u"][keep].astype(np.int64),
    }
    big = np.iinfo(np.int64).max // 4
    offs = {k: np.where(p[f"rec_{k}"], p[f"off_{k}"], big) for k in (*P.OUTCOME_CODES, *DESIGN_OUTCOME_NAMES)}
    offs["all_cancers"] = np.minimum.reduce([offs[k] for k in P.OUTCOME_CODES])
    for k in TRUTH_OUTCOMES:
        o = offs[k][keep]
        Dk, Ek = D[keep], E[keep]
        prevalent = o <= B
        ev = np.where(o < big, 1, np.where(Dk <= Ek, 2, 0))
        stop = np.where(ev == 1, o, np.where(ev == 2, Dk, Ek))
        cols[f"time_{k}"] = np.where(prevalent, np.nan, (stop - B).astype(float))
        cols[f"event_{k}"] = np.where(prevalent, np.nan, ev.astype(float))
    df = pd.DataFrame(cols)
    for c in ("index_admission", "index_discharge"):
        df[c] = pd.to_datetime(df[c].to_numpy().astype("datetime64[D]"))
    return df


def ground_truth_table(n_patients: int, seed: int, blanking_days: int = 365,
                       reference: str = "trauma") -> pd.DataFrame:
    """The analysis table the shipped study should build from ``generate(n_patients, seed, ...)``.

    Computed from the generator's latent variables (not from the files): one row per patient kept by
    the study (one kind of index stay only, adult, birth year known, no prior cancer, alive at
    discharge and at ``discharge + blanking_days``, data beyond that day), with ``patient_id``,
    ``exposure`` (1 sepsis group), ``age``, ``sex``, ``calendar_year``, ``charlson``, ``tobacco``,
    ``alcohol``, ``index_admission``, ``index_discharge``, ``unmeasured_u`` (the planted unmeasured
    confounder, absent from the data files) and, per outcome in ``TRUTH_OUTCOMES``, ``time_<o>`` (days
    from ``discharge + blanking_days``) and ``event_<o>`` (0 censored, 1 outcome, 2 death), both NaN
    for an outcome on or before the follow-up start.

    ``reference="nonsevere_infection"``: the sepsis patients (whether or not they also have a trauma
    stay) against the nonsevere-infection patients, by the latent groups. A study comparing the sepsis
    and nonsevere-infection cohorts on the files also counts as exposed the reference-group patients
    with a second, sepsis, stay (``counts["both"]``); this table leaves them out (docs/synthetic-data.md).
    """
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {', '.join(REFERENCES)}, got {reference!r}")
    keys = _keys(seed)
    frames = [_truth_frame(ch, keys, blanking_days, reference) for _, ch in _chunks(int(n_patients), int(seed))]
    return pd.concat(frames, ignore_index=True)
