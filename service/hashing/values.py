"""Canonical text of single values: timestamps, numbers, identifiers, vocabulary.

Every rule exists so that two spellings of the same value give the same text (CBV 2.0 Event Hash
ID, "canonical pre-hash string" rules): timestamps in UTC at millisecond precision, numbers without
trailing zeros, GS1 keys as canonical Digital Links, CBV terms as web URIs.
"""

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache

from .errors import HashingError
from .identifiers import canonical_identifier
from .vocabulary import expand_curie, web_vocabulary

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))"
)
# The common spelling: UTC ("Z") with at most millisecond precision, ASCII digits. Its canonical form
# is itself with the fraction padded, so no date arithmetic is needed once the fields are in range.
_UTC_MILLIS = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_START = frozenset("0123456789+-.")


def canonical_timestamp(value: object, *, field: str) -> str:
    """``2020-03-04T11:00:30.0005+01:00`` -> ``2020-03-04T10:00:30.001Z``.

    Rounds half up on the fourth fractional digit, as the CBV rule states ("the 3rd decimal place
    SHALL be rounded up if the 4th decimal place is a digit in the range 5-9"). A timestamp without
    a UTC offset has no defined instant, so it is rejected rather than read in local time.
    """
    text = value.strip() if isinstance(value, str) else ""
    fast = _utc_millis(text)
    if fast is not None:
        return fast
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise HashingError(f"{field}: not an xsd:dateTimeStamp with a UTC offset: {value!r}")
    year, month, day, hour, minute, second = map(int, match.groups()[:6])
    fraction, zulu, sign, offset_hours, offset_minutes = match.groups()[6:]
    millis = int((fraction or "0").ljust(3, "0")[:3])
    if fraction and len(fraction) > 3 and fraction[3] >= "5":
        millis += 1
    offset = 0 if zulu else (int(offset_hours) * 60 + int(offset_minutes)) * (1 if sign == "+" else -1)
    try:  # a naive datetime holding UTC: no time zone object needed for a fixed shift
        instant = datetime(year, month, day, hour, minute, second) + timedelta(minutes=-offset, milliseconds=millis)
    except (ValueError, OverflowError) as error:
        raise HashingError(f"{field}: invalid timestamp {value!r}: {error}") from None
    return instant.isoformat(timespec="milliseconds") + "Z"


def _utc_millis(text: str) -> str | None:
    """Canonical form of a ``...Z`` timestamp with <= 3 fractional digits; None means "take the general path"
    (other offsets, finer fractions, or out-of-range fields, which the general path reports)."""
    match = _UTC_MILLIS.fullmatch(text)
    if match is None or not _valid_date(match[1]):
        return None
    date, hour, minute, second, fraction = match.groups()
    if hour > "23" or minute > "59" or second > "59":
        return None
    return f"{date}T{hour}:{minute}:{second}.{(fraction or '').ljust(3, '0')}Z"


@lru_cache(maxsize=4096)
def _valid_date(date: str) -> bool:
    """Whether ``YYYY-MM-DD`` is a real calendar day (memoised: the events of a batch share few days)."""
    try:
        datetime(int(date[:4]), int(date[5:7]), int(date[8:10]))
    except ValueError:
        return False
    return True


def canonical_number_text(text: str) -> str:
    """Decimal text to its shortest form (``+600.0`` -> ``600``, ``0.50`` -> ``0.5``); other text unchanged.

    Numbers compare as IEEE-754 doubles (the xsd:double of EPCIS quantities), exactly as the
    reference implementation does, so ``1``, ``1.0`` and ``1e0`` agree.
    """
    if not text or text[0] not in _NUMBER_START or _NUMBER.fullmatch(text) is None:
        return text
    number = float(text)
    if not math.isfinite(number):
        return text
    return str(int(number)) if number.is_integer() else repr(number)


@lru_cache(maxsize=1 << 16)
def _normalised(text: str) -> str:
    """CBV URN, number and GS1 key normalisation: context-free, so memoised (values such as
    locations, product classes, vocabulary and transaction IDs recur across events)."""
    text = canonical_number_text(web_vocabulary(text))
    return canonical_identifier(text) or text


def canonical_text(text: str, namespaces: Mapping[str, str]) -> str:
    """Canonical form of a string value: trimmed, GS1 CURIE and CBV URN expanded, number or GS1 key normalised."""
    return _normalised(expand_curie(text.strip(), namespaces, gs1_only=True))


def canonical_iri(text: str, namespaces: Mapping[str, str]) -> str:
    """Canonical form of a trimmed IRI-valued string, where any known CURIE prefix expands.

    Shortcut for the usual value (``urn:epc:...``, ``https://...``) whose prefix is not a declared
    one: both CURIE expansions are then no-ops and only the memoised normalisation remains.
    """
    if text.partition(":")[0] not in namespaces:
        return _normalised(text)
    return canonical_text(expand_curie(text, namespaces, gs1_only=False), namespaces)


def canonical_scalar(value: object, *, field: str, namespaces: Mapping[str, str]) -> str:
    """Canonical text of a JSON scalar; booleans are spelt as in XML (``true``/``false``)."""
    if isinstance(value, str):
        return canonical_text(value, namespaces)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return canonical_number_text(str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise HashingError(f"{field}: number is not finite: {value!r}")
        return canonical_number_text(repr(value))
    raise HashingError(f"{field}: expected a string, number or boolean, got {type(value).__name__}")
