"""One reading of every JSON document a verifier reads (docs/ledger.md, "Strict parsing").

Receipts, export block lines, the export manifest, trust files and a witness's state all go
through `read_json`. Two verifiers must never see two different documents in the same bytes,
so whatever a lenient parser resolves silently is refused with a problem kind and a reason:
a key twice in one object (parsers keep the first or the last), a string not in Unicode NFC
(nothing is normalised on reading), a field a closed format does not have, and, where the
format is canonical (export block lines), any byte that canonical() would not write.
"""
import json
import unicodedata

from ledger.encoding import NOT_NFC, CanonicalError, canonical

__all__ = ["NOT_JSON", "DUPLICATE_KEY", "NOT_NFC", "NOT_CANONICAL", "UNKNOWN_FIELD",
           "STRICT_KINDS", "StrictError", "read_json", "loads_strict", "check_fields",
           "check_nfc"]

NOT_JSON = "not-json"
DUPLICATE_KEY = "duplicate-key"
NOT_CANONICAL = "not-canonical"
UNKNOWN_FIELD = "unknown-field"
STRICT_KINDS = (DUPLICATE_KEY, NOT_NFC, NOT_CANONICAL, UNKNOWN_FIELD)
"""The problem kinds of a document that is JSON but breaks the rule."""
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                            check_circular=False, allow_nan=False)


class StrictError(ValueError):
    """A document refused by the strict rule: `kind` (one of the names above) and `reason`."""

    def __init__(self, kind: str, reason: str):
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason


class _Flag(Exception):
    """Raised by the strict decoder's hooks: a duplicated key, or an unusual number."""


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _object(items):
    obj = dict(items)
    if len(obj) != len(items):
        seen = set()
        raise _Flag(DUPLICATE_KEY, next(key for key, _ in items if key in seen or seen.add(key)))
    return obj


def _float(text):
    raise _Flag("float", text)


def _int(text):
    if len(text) > 15:
        raise _Flag("long", text)
    return int(text)


# Module-level decoders (hooks as plain functions): the strict one stops at the first
# duplicated key or unusual number (a float, an integer that could be unsafe), which are
# rare; the document is then read again, only as strictly as is left to decide.
_STRICT = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_no_constant,
                           parse_float=_float, parse_int=_int)
_ANY_NUMBER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_no_constant)
_LENIENT = json.JSONDecoder(parse_constant=_no_constant)


def _decode(text):
    """(value, duplicated key or None, unusual number seen?); ValueError if not JSON."""
    try:
        return _STRICT.decode(text), None, False
    except _Flag as flag:
        if flag.args[0] == DUPLICATE_KEY:
            return _LENIENT.decode(text), flag.args[1], True
    try:
        return _ANY_NUMBER.decode(text), None, True
    except _Flag as flag:
        return _LENIENT.decode(text), flag.args[1], True


def read_json(data, *, canonical_form: bool = False, fields=None):
    """(value, None) if `data` (bytes or str) passes the rule, else (value, StrictError).

    The value is what a lenient parser reads (the last of two equal keys), so a caller that
    reports the error can still go on with the document; it is None when `data` is not JSON.
    fields: the closed top-level field set, if the format is closed.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        text = raw.decode("utf-8")
        value, duplicate, unusual = _decode(text)
    except ValueError as e:  # UnicodeDecodeError and JSONDecodeError included
        return None, StrictError(NOT_JSON, str(e))
    except RecursionError:
        return None, StrictError(NOT_JSON, "nested too deeply")
    if duplicate is not None:
        return value, StrictError(DUPLICATE_KEY, f"key {duplicate!r} appears twice in one "
                                                 "object")
    if not canonical_form and not (text.isascii() and "\\u" not in text):
        try:
            check_nfc(value)
        except StrictError as e:
            return value, e
        except RecursionError:
            return None, StrictError(NOT_JSON, "nested too deeply")
    if fields is not None:
        try:
            check_fields(value, fields, "(top level)")
        except StrictError as e:
            return value, e
    if canonical_form:
        if raw.isascii() and not unusual:
            # An ASCII line with no float and no integer that could be unsafe: if the compact
            # sorted dump reproduces it, all its text is ASCII (so NFC, and sorted is UTF-16
            # key order) and it is canonical()'s bytes. Any other line: canonical() decides.
            if _COMPACT.encode(value) == text:
                return value, None
        try:
            expected = canonical(value)
        except CanonicalError as e:
            return value, StrictError(e.kind or NOT_CANONICAL, str(e))
        if raw != expected:
            return value, StrictError(NOT_CANONICAL, "the bytes are not the canonical encoding "
                                                     "(whitespace, key order or escapes)")
    return value, None


def loads_strict(data, *, canonical_form: bool = False, fields=None):
    """The value of `data`, or StrictError (kind `not-json` when it is not JSON at all)."""
    value, error = read_json(data, canonical_form=canonical_form, fields=fields)
    if error is not None:
        raise error
    return value


def check_fields(obj, fields, where: str) -> None:
    """StrictError(unknown-field) if the object `obj` has a field outside `fields`."""
    if isinstance(obj, dict):
        extra = sorted(set(obj) - set(fields))
        if extra:
            raise StrictError(UNKNOWN_FIELD, f"{where} has the unknown field(s) "
                                             f"{', '.join(map(repr, extra))}")


def check_nfc(value) -> None:
    """StrictError(not-nfc) naming the first string or key of a parsed `value` not in NFC."""
    path = _not_nfc(value, "")
    if path is not None:
        raise StrictError(NOT_NFC, f"{path or '(top level)'}: string is not in Unicode NFC")


def _not_nfc(value, path):
    """The path of the first string (or key) not in NFC, else None."""
    if isinstance(value, str):
        return None if value.isascii() or unicodedata.is_normalized("NFC", value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            if _not_nfc(key, inner) is not None:
                return inner
            found = _not_nfc(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_nfc(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
