"""The run profile: how to execute a study here (engine, threads, disclosure), never what it computes.

Kept apart from the study (OHDSI Strategus keeps execution settings apart from the portable spec): none
of these fields enters the spec hash. The command line builds one from its options; a YAML file with
the same keys can be loaded with :func:`load_profile`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError

from cohortstat.errors import SpecError
from cohortstat.spec.loading import _read, parse_yaml

_MEMORY_RE = re.compile(r"[1-9][0-9]{0,5}(KB|MB|GB|TB|KiB|MiB|GiB|TiB)")
_COUNT = r"[1-9][0-9]{0,3}"
_HOST_PORT = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?:[1-9][0-9]{0,4}"
_SPARK_MASTER_RE = re.compile(
    rf"local\[(?:{_COUNT}|\*)\]"  # local[N], local[*]: one JVM, N threads
    rf"|local-cluster\[{_COUNT},{_COUNT},[1-9][0-9]{{1,6}}\]"  # local-cluster[workers,cores,MB per worker]
    rf"|spark://{_HOST_PORT}(?:,{_HOST_PORT})*"  # a standalone cluster (several masters: standby masters)
)
#: the Spark master forms the run profile accepts (error messages, docs)
SPARK_MASTERS = "local[N], local[*], local-cluster[W,C,MB] or spark://host:port"


def _memory(value: str | None) -> str | None:
    if value is not None and not _MEMORY_RE.fullmatch(value):
        raise ValueError(f"invalid memory limit {value[:30]!r}: write a number and a unit, e.g. 8GB or 512MiB")
    return value


def check_spark_master(value: str) -> str:
    """``value`` if it is a Spark master URL the Spark engine accepts (:data:`SPARK_MASTERS`), else ValueError."""
    if not isinstance(value, str) or not _SPARK_MASTER_RE.fullmatch(value):
        raise ValueError(f"invalid Spark master {str(value)[:40]!r}: use {SPARK_MASTERS}")
    if value.startswith("spark://") and any(int(hp.rsplit(":", 1)[1]) > 65535 for hp in value[8:].split(",")):
        raise ValueError(f"invalid Spark master {value[:40]!r}: a port is at most 65535")
    return value


def _spark_master(value: str | None) -> str | None:
    return None if value is None else check_spark_master(value)


class RunProfile(BaseModel):
    """Execution settings of one run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: Literal["duckdb", "spark"] = Field("duckdb", description="execution engine of the cohort builder")
    threads: Annotated[int, Strict()] | None = Field(None, ge=1, le=1024, description="None: engine default")
    memory_limit: Annotated[str | None, AfterValidator(_memory)] = Field(None, description="e.g. 8GB")
    spark_master: Annotated[str | None, AfterValidator(_spark_master)] = Field(
        None, description="Spark engine only: local[N], local-cluster[W,C,MB], spark://host:port; None: local"
    )
    min_cell_count: Annotated[int, Strict()] = Field(
        10, ge=1, le=1000, description="counts below this are suppressed in every output (1: none)"
    )
    jobs: Annotated[int, Strict()] = Field(
        1, ge=1, le=64, description="processes: with 2 or more, sensitivity variants that need their own cohort "
        "are built and analysed in jobs - 1 worker processes beside the main analysis (DuckDB engine)"
    )


def load_profile(source: str | os.PathLike | Mapping | None = None) -> RunProfile:
    """A profile from a YAML file, a mapping, or the defaults (None); SpecError with locations."""
    if source is None:
        return RunProfile()
    if isinstance(source, Mapping):
        data = source
    else:
        path = Path(source)
        try:
            text = _read(path)
        except SpecError as exc:
            raise SpecError([(str(path), f"cannot read the run profile: {m}") for _, m in exc.errors]) from None
        data = parse_yaml(text, str(path))
    if not isinstance(data, Mapping):
        raise SpecError([("(profile)", "a run profile must be a mapping of keys (engine, threads, ...)")])
    try:
        return RunProfile.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"]) or "(profile)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key; allowed keys: {', '.join(RunProfile.model_fields)}"
            errors.append((loc, msg[:1].lower() + msg[1:]))
        raise SpecError(errors) from None
