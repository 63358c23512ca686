"""ICD-10 codes in a study file: validation, range expansion, canonical prefix lists.

A *code* is what PMSI stores: upper case, no dot, ``[A-Z][0-9][0-9A-Z]{0,3}`` (``C34``, ``C341``,
``R572``). In a concept set a code stands for itself and every longer code that starts with it (a
*prefix*). A *range* is two codes of the same length joined by ``-``:

* 2- and 3-character endpoints (a letter then digits only, e.g. ``C00-C14``, ``S00-T14``) expand over
  every category between them in the order letter, then number -- crossing letters as WHO ICD-10 chapter
  XIX does (``S00-T14`` = ``S00`` ... ``S99``, ``T00`` ... ``T14``);
* 4- and 5-character endpoints (``C340-C343``) must share every character but the last, which must be a
  digit on both ends; the range expands over that last digit;
* endpoints of different lengths (``C34-C3410``) or an inverted range (``C34-C33``) are rejected.

The canonical form of a list is the sorted list of unique prefixes from which every prefix already
covered by a shorter prefix of the same list is removed (``[C341, C34, C33]`` -> ``(C33, C34)``).
Nothing here ever builds SQL: the cohort builder matches on validated prefixes only.
"""

from __future__ import annotations

import bisect
import re
import string
from collections.abc import Iterable

CODE_PATTERN = r"[A-Z][0-9][0-9A-Z]{0,3}"
_CODE_RE = re.compile(CODE_PATTERN)
_SHORT_RANGE_RE = re.compile(r"[A-Z][0-9]{1,2}")  # endpoints of ranges that may cross letters
_MAX_SHOWN = 40
#: Most prefixes one code list may expand to (A00-Z99 is 2,600): a guard against oversized input.
MAX_PREFIXES = 10_000

CODE_HELP = (
    "an ICD-10 code is an upper-case letter, a digit, then up to 3 digits or upper-case letters, "
    "without the dot (e.g. C34, R572); a range is two codes of the same length joined by '-' "
    "(e.g. C33-C34, S00-T14)"
)


def _shown(text: object) -> str:
    r = repr(text)
    return r if len(r) <= _MAX_SHOWN else r[: _MAX_SHOWN - 4] + "...'"


def is_code(text: str) -> bool:
    """True when ``text`` is exactly one well-formed ICD-10 code (no range, no whitespace)."""
    return isinstance(text, str) and _CODE_RE.fullmatch(text) is not None


def _hint(item: str) -> str:
    """A specific fix for the most common mistakes, or the general rule."""
    if "." in item:
        fixed = item.replace(".", "")
        if all(is_code(part) for part in fixed.split("-", 1)) and fixed.count("-") <= 1:
            return f"write ICD-10 codes without the dot: {fixed!r}"
    if item != item.upper() and item.strip() == item:
        upper = item.upper()
        if all(is_code(part) for part in upper.split("-", 1)) and upper.count("-") <= 1:
            return f"ICD-10 codes are upper case: {upper!r}"
    return CODE_HELP


def _ordinal(code: str) -> int:
    """Position of a 2- or 3-character category in letter-then-number order."""
    letter = string.ascii_uppercase.index(code[0])
    return letter * 10 ** (len(code) - 1) + int(code[1:])


def _from_ordinal(value: int, length: int) -> str:
    scale = 10 ** (length - 1)
    letter, number = divmod(value, scale)
    return string.ascii_uppercase[letter] + str(number).zfill(length - 1)


def _check_range(start: str, end: str) -> int:
    """Validate the range ``start-end`` and return how many prefixes it stands for."""
    text = f"{start}-{end}"
    if len(start) != len(end):
        raise ValueError(
            f"range {_shown(text)} mixes code lengths ({len(start)} and {len(end)} characters); "
            "both ends must have the same length"
        )
    if len(start) <= 3:
        if not (_SHORT_RANGE_RE.fullmatch(start) and _SHORT_RANGE_RE.fullmatch(end)):
            raise ValueError(
                f"range {_shown(text)}: 2- and 3-character range ends must be a letter followed by "
                "digits (e.g. C00-C14, S00-T14)"
            )
        lo, hi = _ordinal(start), _ordinal(end)
    else:
        if start[:-1] != end[:-1] or not (start[-1].isdigit() and end[-1].isdigit()):
            raise ValueError(
                f"range {_shown(text)}: 4- and 5-character range ends must share all characters but "
                "the last, which must be a digit (e.g. C340-C343)"
            )
        lo, hi = int(start[-1]), int(end[-1])
    if lo > hi:
        raise ValueError(f"range {_shown(text)} is inverted: its start comes after its end")
    return hi - lo + 1


def expand_range(start: str, end: str) -> tuple[str, ...]:
    """Every prefix of the range ``start-end`` (both ends included); ValueError when ill-formed."""
    _check_range(start, end)
    if len(start) <= 3:
        return tuple(_from_ordinal(v, len(start)) for v in range(_ordinal(start), _ordinal(end) + 1))
    return tuple(start[:-1] + str(d) for d in range(int(start[-1]), int(end[-1]) + 1))


def _split(item: object) -> tuple[str, str]:
    """``(start, end)`` of a validated item (``start == end`` for a single code); ValueError if bad."""
    if not isinstance(item, str):
        raise ValueError(f"expected an ICD-10 code as text, got {type(item).__name__} {_shown(item)}")
    if is_code(item):
        return item, item
    parts = item.split("-")
    if len(parts) == 2 and is_code(parts[0]) and is_code(parts[1]):
        _check_range(parts[0], parts[1])
        return parts[0], parts[1]
    raise ValueError(f"malformed ICD-10 code {_shown(item)}: {_hint(item)}")


def check_item(item: object) -> int:
    """Validate one list item (code or range) without expanding it; return its number of prefixes.

    Raises
    ------
    ValueError
        With a message that says what is allowed, for anything that is not exactly a code or a range
        (whitespace, quotes, ``;``, lower case, dots, empty strings, non-strings).
    """
    start, end = _split(item)
    return 1 if start == end else _check_range(start, end)


def parse_item(item: object) -> tuple[str, ...]:
    """Validate one list item (code or range) and return the prefixes it stands for."""
    start, end = _split(item)
    return (start,) if start == end else expand_range(start, end)


def canonical_prefixes(prefixes: Iterable[str]) -> tuple[str, ...]:
    """Sorted unique prefixes, dropping those already covered by a shorter prefix in the list."""
    kept: list[str] = []
    for p in sorted(set(prefixes)):
        # In sorted order every string that starts with a kept prefix follows it directly.
        if kept and p.startswith(kept[-1]):
            continue
        kept.append(p)
    return tuple(kept)


def _dedupe(items: Iterable[object]) -> list[object]:
    seen: set[str] = set()
    out = []
    for item in items:
        if isinstance(item, str):
            if item in seen:
                continue
            seen.add(item)
        out.append(item)
    return out


def canonical_codes(items: Iterable[object]) -> tuple[str, ...]:
    """Expand and canonicalise a whole list; ValueError on the first bad item or an oversized list."""
    items = _dedupe(items)
    total = sum(check_item(item) for item in items)
    if total > MAX_PREFIXES:
        raise ValueError(
            f"the list expands to {total} prefixes, more than {MAX_PREFIXES}; "
            "use shorter prefixes (e.g. C34 rather than C340-C349)"
        )
    out: list[str] = []
    for item in items:
        out.extend(parse_item(item))
    return canonical_prefixes(out)


def exclusion_problems(include: tuple[str, ...], exclude: tuple[str, ...]) -> list[str]:
    """Messages for canonical exclude prefixes that remove nothing or a whole include prefix."""
    ordered = sorted(include)
    included = set(include)
    problems = []
    for e in exclude:
        at = bisect.bisect_left(ordered, e)
        if at < len(ordered) and ordered[at].startswith(e):  # e is, or is above, an include prefix
            problems.append(
                f"exclude {e!r} removes the whole include prefix {ordered[at]!r}; "
                "drop it from include instead"
            )
        elif not any(e[:k] in included for k in range(1, len(e))):
            problems.append(
                f"exclude {e!r} is not within any include prefix, so it would have no effect; "
                "an exclusion must be a longer code under an included prefix"
            )
    return problems


def matches(code: str, include: tuple[str, ...], exclude: tuple[str, ...] = ()) -> bool:
    """True when ``code`` starts with an include prefix and with no exclude prefix."""
    return code.startswith(include) and not (exclude and code.startswith(exclude))
