"""Canonical bytes for hashing: RFC 8785 (JCS) on a restricted domain.

Hashes are only reproducible if every writer and every auditor turns the same value into the
same bytes, including after a round trip through MongoDB. So the encoder accepts only values
whose JSON form is unambiguous (str keys, safe integers, no floats, text already in NFC,
timestamps as RFC 3339 strings) and rejects anything else with the path of the offending
field, never coercing silently: a string not in NFC is refused, not normalised, so a value and
its NFD spelling never share a hash (input is normalised where it enters the app: to_nfc).
"""
import json
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from operator import itemgetter

__all__ = ["CanonicalError", "MAX_SAFE_INT", "canonical", "utf16_sort_key", "to_nfc",
           "rfc3339", "parse_rfc3339"]

MAX_SAFE_INT = 2**53 - 1

_SURROGATE = re.compile("[\ud800-\udfff]")
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False,
                            allow_nan=False, sort_keys=False)
_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?"
                      r"(?:([Zz])|([+-])(\d\d):(\d\d))")


NOT_NFC = "not-nfc"
"""CanonicalError.kind of a string that is not in Unicode Normalization Form C."""


class CanonicalError(ValueError):
    """A value outside the canonical domain; the message starts with the field path.

    `kind` is "not-nfc" for a string not in NFC (a problem kind of its own for verifiers),
    else None."""

    def __init__(self, reason, path="", kind=None):
        super().__init__(f"{path}: {reason}" if path else reason)
        self.reason = reason
        self.path = path
        self.kind = kind


class _Invalid(Exception):
    """Raised deep in the walk; each container adds its key on the way out (free on success)."""

    def __init__(self, reason, kind=None):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.segments = []  # innermost first


def canonical(value) -> bytes:
    """The RFC 8785 encoding of `value`, or CanonicalError naming the offending field."""
    try:
        prepared = _prepare(value)
    except _Invalid as e:
        raise CanonicalError(e.reason, _format_path(reversed(e.segments)), e.kind) from None
    except RecursionError:
        raise CanonicalError("nesting too deep (or a container contains itself)") from None
    return _ENCODER.encode(prepared).encode("utf-8")


def utf16_sort_key(s: str) -> bytes:
    """JCS (RFC 8785 §3.2.3) orders keys by UTF-16 code units, not code points.

    The two orders differ when a character above U+FFFF meets one in U+E000..U+FFFF.
    """
    return s.encode("utf-16-be")


def _prepare(value):
    """Validate `value` and return a copy with dict keys in JCS order."""
    kind = type(value)
    if kind is str:
        return value if value.isascii() else _text(value)
    if kind is int:
        return _integer(value)
    if kind is bool or value is None:
        return value
    if kind is dict:
        return _object(value)
    if kind is list or kind is tuple:
        return _array(value)
    return _prepare_subclass(value)


def _prepare_subclass(value):
    """Subclasses of the accepted types (bson Int64, IntEnum, OrderedDict, ...) and rejections."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _integer(int(value))
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return _object(value)
    if isinstance(value, (list, tuple)):
        return _array(value)
    raise _Invalid(_rejection(value))


def _rejection(value) -> str:
    if isinstance(value, float):
        return "floats are not allowed (use a decimal string)"
    if isinstance(value, Decimal):
        return "Decimal numbers are not allowed (use a decimal string)"
    if isinstance(value, (datetime, date)):
        return "datetimes are not allowed (use ledger.encoding.rfc3339() for a timestamp string)"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes are not allowed (use a base64 string)"
    return f"values of type {type(value).__name__} are not allowed"


def _integer(value: int) -> int:
    if -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        return value
    raise _Invalid(f"integer {value} is outside ±(2**53-1)")


def _text(value: str) -> str:
    if _SURROGATE.search(value):
        raise _Invalid("strings must not contain lone surrogates")
    if not unicodedata.is_normalized("NFC", value):
        raise _Invalid("string is not in Unicode NFC (normalise input before sealing)", NOT_NFC)
    return value


def to_nfc(value):
    """`value` with every string (and object key) in NFC: for input entering the app, which
    canonical() would otherwise refuse. Containers are copied; other values are kept."""
    if isinstance(value, str):
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {to_nfc(key): to_nfc(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_nfc(item) for item in value]
    return value


def _array(value) -> list:
    out = []
    for index, item in enumerate(value):
        try:
            out.append(_prepare(item))
        except _Invalid as e:
            e.segments.append(index)
            raise
    return out


def _object(value: dict) -> dict:
    items = []
    ascii_keys = True
    for key, item in value.items():
        if type(key) is not str or not key.isascii():
            key, ascii_keys = _key(key), False
        try:
            items.append((key, _prepare(item)))
        except _Invalid as e:
            e.segments.append(key)
            raise
    # Below U+D800 code points and UTF-16 code units agree, so ASCII keys sort as they are.
    items.sort(key=_first if ascii_keys else _first_utf16)
    return dict(items)


_first = itemgetter(0)


def _first_utf16(pair) -> bytes:
    return utf16_sort_key(pair[0])


def _key(key) -> str:
    if not isinstance(key, str):
        raise _Invalid(f"object keys must be strings, not {type(key).__name__} ({key!r})")
    try:
        return _text(key)
    except _Invalid as e:
        e.segments.append(key.encode("ascii", "backslashreplace").decode("ascii"))
        raise


def _format_path(segments) -> str:
    path = ""
    for segment in segments:
        if isinstance(segment, int):
            path += f"[{segment}]"
        else:
            path += f".{segment}" if path else segment
    return path or "(top level)"


def rfc3339(dt: datetime) -> str:
    """UTC with millisecond precision and a `Z`, e.g. `2026-11-22T02:27:14.302Z`.

    BSON stores milliseconds, so microseconds are truncated (not rounded) to make a value read
    back from MongoDB encode exactly as it did when written. Naive datetimes are taken as UTC,
    which is what pymongo returns unless tz_aware is set.
    """
    if not isinstance(dt, datetime):
        raise TypeError(f"rfc3339() needs a datetime, not {type(dt).__name__}")
    utc = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
            f"{utc.second:02d}.{utc.microsecond // 1000:03d}Z")


def parse_rfc3339(s: str) -> datetime:
    """An RFC 3339 date-time (any offset, any fraction digits) as an aware UTC datetime."""
    match = _RFC3339.fullmatch(s) if isinstance(s, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 date-time: {s!r}")
    year, month, day, hour, minute, second, fraction, _, sign, off_h, off_m = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(-offset if sign == "-" else offset)
    parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                      micros, tzinfo=tz)
    return parsed.astimezone(timezone.utc)
