"""Load a study file: safe YAML, one validation pass, every error located, one SpecError.

The YAML loader is PyYAML's ``SafeLoader`` (what ``yaml.safe_load`` uses) made stricter: it refuses
aliases (``*name``, the vehicle of "billion laughs" bombs), duplicate mapping keys (PyYAML would keep
the last one silently) and documents larger than :data:`MAX_BYTES`; a document nested too deeply is
refused too. Booleans are ``true``/``false`` only, as in YAML 1.2: YAML 1.1's ``yes``, ``no``, ``on`` and
``off`` stay text, so a boolean field refuses them instead of reading ``no`` as false. An impossible
calendar date (``2020-02-30``) is a located error, not a crash. A file is read with a size cap (a device
such as ``/dev/zero`` or a huge file is refused after :data:`MAX_BYTES`), and a file holding NUL bytes is
refused as binary. Every problem becomes a :class:`~cohortstat.errors.SpecError` with a location.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from cohortstat.errors import SpecError
from cohortstat.spec.checks import cross_check
from cohortstat.spec.models import CROSS_CHECK, INCLUSION_RULES, Study
from cohortstat.spec.variants import variant_problems

#: Largest study file accepted (bytes). The shipped study is about 6 kB.
MAX_BYTES = 1_000_000
_RULE_BY_TAG = {get_args(m.model_fields["rule"].annotation)[0]: m for m in INCLUSION_RULES}
_TAGS = frozenset(_RULE_BY_TAG)


#: YAML 1.2 core-schema booleans; YAML 1.1's yes/no/on/off (and their capitalisations) stay strings.
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _resolvers() -> dict:
    """SafeLoader's implicit resolvers with the boolean one narrowed to :data:`_BOOL_RE`."""
    table = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [(tag, rx) for tag, rx in entries if tag != "tag:yaml.org,2002:bool"]
        if first in "tTfF":
            kept.append(("tag:yaml.org,2002:bool", _BOOL_RE))
        if kept:
            table[first] = kept
    return table


class _StrictSafeLoader(yaml.SafeLoader):
    """``SafeLoader`` without aliases, without duplicate keys, with YAML 1.2 booleans and checked dates."""

    yaml_implicit_resolvers = _resolvers()

    def construct_yaml_timestamp(self, node):  # noqa: ANN001 - PyYAML signature
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid calendar date {node.value!r} ({exc}); write a real date as YYYY-MM-DD",
                node.start_mark,
            ) from None

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "YAML aliases (*name) are not allowed in a study file; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML signature
        if isinstance(node, yaml.MappingNode):
            seen: set = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        None, None, "mapping keys must be plain text", key_node.start_mark
                    ) from None
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}: each key may appear once", key_node.start_mark
                    )
        return super().construct_mapping(node, deep=deep)


_StrictSafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictSafeLoader.construct_yaml_timestamp)


def _yaml_location(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "yaml"


def parse_yaml(text: str, source: str = "<text>") -> Any:
    """Parse YAML text with the strict safe loader; SpecError on any problem."""
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise SpecError([(source, f"the file is larger than {MAX_BYTES} bytes; a study file is a few kB")])
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        if context:
            problem = f"{context}, {problem}"
        raise SpecError([(_yaml_location(exc), f"invalid YAML: {problem}")]) from None
    except RecursionError:
        raise SpecError([(source, "the YAML document is nested too deeply")]) from None


# --- pydantic errors -> located messages ------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional wrappers down to the model, tuple or dict type."""
    while True:
        args = get_args(annotation)
        if get_origin(annotation) is Annotated:
            annotation = args[0]
        elif type(None) in args and len(args) == 2:  # X | None
            annotation = args[0] if args[1] is type(None) else args[1]
        else:
            return annotation


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class reached by following ``loc`` (pydantic's raw location) from :class:`Study`."""
    current: Any = Study
    for part in loc:
        current = _unwrap(current)
        origin, args = get_origin(current), get_args(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        elif origin is tuple and isinstance(part, int):
            current = args[0]
        elif origin is dict:
            current = args[1]
        elif part in _RULE_BY_TAG:  # the discriminated union of inclusion rules
            current = _RULE_BY_TAG[part]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:56] + "...'"


def _message(err: Mapping) -> str:
    kind, msg, raw = err["type"], err["msg"], tuple(err["loc"])
    if kind == "extra_forbidden":
        model = _model_at(raw[:-1])
        allowed = ", ".join(model.model_fields) if model else ""
        return f"unknown key; allowed keys: {allowed}" if allowed else "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = ", ".join(sorted(_TAGS))
        got = err.get("ctx", {}).get("tag")
        head = f"unknown rule {got!r}" if kind == "union_tag_invalid" else "missing key 'rule'"
        return f"{head}; allowed rules: {tags}"
    text = msg[:1].lower() + msg[1:]
    if kind == "bool_type":
        text = "input should be a valid boolean: true or false (YAML yes/no/on/off are not booleans here)"
    if "input" in err and kind not in ("model_type", "dict_type"):
        text += f", got {_shown(err['input'])}"
    return text


def _location(raw: tuple) -> str:
    parts = [str(p) for p in raw if p not in _TAGS and p != "[key]"]
    return ".".join(parts) if parts else "(study)"


def located_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Pydantic's errors in cohortstat's ``(location, message)`` form."""
    out = []
    for err in exc.errors(include_url=False):
        raw = tuple(err["loc"])
        message = _message(err)
        if raw and raw[-1] == "[key]":
            message = f"name: {message}"
        out.append((_location(raw), message))
    return out


# --- public entry points ----------------------------------------------------------------------------


def validate_document(data: Any, source: str = "(study)", base: Path | None = None) -> Study:
    """Validate a parsed document (a mapping) in one pass; SpecError listing every problem.

    ``base``: the folder relative paths of the study (``reference_rates.file``) start from (default:
    the working folder)."""
    if not isinstance(data, Mapping):
        kind = "empty document" if data is None else f"a YAML {type(data).__name__}"
        raise SpecError([(source, f"a study file must be a mapping of keys (spec_version, title, ...), got {kind}")])
    from cohortstat.spec.rates import attach_reference_rates

    data, errors = attach_reference_rates(data, base)
    study = None
    try:
        study = Study.model_validate(data, context={CROSS_CHECK: False})
    except ValidationError as exc:
        errors.extend(located_errors(exc))
    except RecursionError:
        errors.append((source, "the document is nested too deeply"))
    taken = {loc for loc, _ in errors}
    errors.extend(p for p in cross_check(data) if p[0] not in taken)
    taken = {loc for loc, _ in errors}
    errors.extend(p for p in variant_problems(data, located_errors) if p[0] not in taken)
    if errors or study is None:
        raise SpecError(errors)
    return study


def _read(path: Path) -> str:
    """The text of a study file, read with a cap of :data:`MAX_BYTES` (a device never ends)."""
    too_big = SpecError([(str(path), f"the file is larger than {MAX_BYTES} bytes; a study file is a few kB")])
    try:
        if path.is_file() and path.stat().st_size > MAX_BYTES:
            raise too_big
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise too_big
        if b"\x00" in raw:
            raise SpecError([(str(path), "a binary file (it holds NUL bytes), not a study file (YAML text)")])
        return raw.decode("utf-8")
    except FileNotFoundError:
        raise SpecError([(str(path), "no such file")]) from None
    except IsADirectoryError:
        raise SpecError([(str(path), "is a directory, not a study file")]) from None
    except UnicodeDecodeError as exc:
        raise SpecError([(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise SpecError([(str(path), f"cannot read the file: {exc.strerror}")]) from None


def _looks_like_path(text: str) -> bool:
    # YAML text of a study spans lines or holds "key: value"; a one-line string without it is a path.
    return "\n" not in text and (text.endswith((".yaml", ".yml")) or os.path.isfile(text) or ": " not in text)


def load_study(source: str | os.PathLike | Mapping) -> Study:
    """Load and validate a study.

    Parameters
    ----------
    source
        A ``PathLike``; a ``str`` read as a path when it is one line that ends in ``.yaml``/``.yml``,
        names an existing file, or holds no ``": "``, and as YAML text otherwise; or an already
        parsed mapping.

    Returns
    -------
    Study
        Frozen, with concept sets canonical (ranges expanded, sorted unique prefixes).

    Raises
    ------
    SpecError
        Listing every problem of the file with its location.
    """
    if isinstance(source, Mapping):
        return validate_document(source)
    if isinstance(source, os.PathLike) or (isinstance(source, str) and _looks_like_path(source)):
        path = Path(source)
        return validate_document(parse_yaml(_read(path), str(path)), source=str(path), base=path.parent)
    if isinstance(source, str):
        return validate_document(parse_yaml(source))
    raise SpecError([("(study)", f"expected a path, YAML text or a mapping, got {type(source).__name__}")])
