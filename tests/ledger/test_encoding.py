"""ledger.encoding: byte-identical to the rfc8785 reference, strict domain, stable through BSON."""
import enum
import unicodedata
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

import bson
import pytest
import rfc8785
from bson.codec_options import CodecOptions
from bson.int64 import Int64
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.encoding import (MAX_SAFE_INT, CanonicalError, canonical, parse_rfc3339, rfc3339,
                             to_nfc)

# Characters where JSON encoders tend to differ: escapes, DEL, line separators, the BMP's
# private/specials area (sorts *after* astral characters in UTF-16 order), astral characters.
_TRICKY = ('"\\/\x00\x01\x08\x09\x0a\x0c\x0d\x1f\x7f\u2028\u2029\ue000\uff61\uffff'
           '\U00010000\U0001f600\U0010fffdaé')


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


_any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=6)
_texts = st.one_of(_any_text, st.text(alphabet=_TRICKY, max_size=4)).map(_nfc)
_keys = st.one_of(_any_text, st.text(alphabet=_TRICKY, min_size=1, max_size=2)).map(_nfc)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-MAX_SAFE_INT, MAX_SAFE_INT), _texts)
# st.deferred rather than st.recursive: about half the draws per document.
_documents = st.deferred(lambda: st.one_of(_scalars, st.lists(_documents, max_size=3),
                                           st.dictionaries(_keys, _documents, max_size=3)))


def _same_as_the_reference(doc):
    assert canonical(doc) == rfc8785.dumps(doc)


# 1,000 documents in the default run (~4 s); 10,000 in CI's slow step (~35 s).
test_identical_to_rfc8785_reference = settings(max_examples=1_000, deadline=None)(
    given(_documents)(_same_as_the_reference))
test_identical_to_rfc8785_reference_ten_thousand_documents = pytest.mark.slow(
    settings(max_examples=10_000, deadline=None)(given(_documents)(_same_as_the_reference)))


def test_keys_sort_by_utf16_code_units_not_code_points():
    doc = {"\uff61": 1, "\U0001f600": 2, "a": 3, "\ue000": 4}
    assert canonical(doc) == rfc8785.dumps(doc)
    assert canonical(doc).decode() == '{"a":3,"\U0001f600":2,"\ue000":4,"\uff61":1}'
    assert sorted(doc) != ["a", "\U0001f600", "\ue000", "\uff61"]  # Python's order differs


def test_string_escapes_match_jcs():
    value = "\"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029"
    assert canonical(value) == rfc8785.dumps(value)
    assert canonical(value) == ('"\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\u2028\u2029"'
                                .encode("utf-8"))


def test_text_not_in_nfc_is_refused_not_normalised():
    """A value and its NFD spelling must never share a hash (issue 19): NFC is required."""
    nfd, nfc = "e\u0301", "\u00e9"
    assert canonical(nfc) == '"é"'.encode("utf-8")
    for value, path in ((nfd, "(top level)"), ({"k": [nfd]}, "k[0]"), ({nfd: 1}, "e\\u0301")):
        with pytest.raises(CanonicalError) as caught:
            canonical(value)
        assert caught.value.kind == "not-nfc" and caught.value.path == path
    assert to_nfc({nfd: [nfd, 1], "a": (nfd,)}) == {nfc: [nfc, 1], "a": [nfc]}


@pytest.mark.parametrize("value, message", [
    ({"attributes": {"weight": 72.5}},
     "attributes.weight: floats are not allowed (use a decimal string)"),
    ({"a": [1, float("nan")]}, "a[1]: floats are not allowed"),
    ({"a": float("inf")}, "a: floats are not allowed"),
    ({"n": 2**53}, "n: integer 9007199254740992 is outside"),
    ({"n": -(2**53)}, "n: integer -9007199254740992 is outside"),
    ({"x": {1: "a"}}, "x: object keys must be strings, not int"),
    ({"photo": b"\x89PNG"}, "photo: bytes are not allowed (use a base64 string)"),
    ({"at": datetime(2026, 1, 1)}, "at: datetimes are not allowed (use ledger.encoding.rfc3339()"),
    ({"tags": {"a", "b"}}, "tags: values of type set are not allowed"),
    ({"note": "ok \ud800"}, "note: strings must not contain lone surrogates"),
    ({"x": {"\udc00": 1}}, "x.\\udc00: strings must not contain lone surrogates"),
    ([[0, {"k": 1.0}]], "[0][1].k: floats are not allowed"),
    (0.5, "(top level): floats are not allowed"),
    ({"e\u0301": 1, "\u00e9": 2}, "e\\u0301: string is not in Unicode NFC"),
])
def test_rejections_name_the_field(value, message):
    with pytest.raises(CanonicalError) as caught:
        canonical(value)
    assert str(caught.value).startswith(message)


def test_error_carries_path_and_reason():
    with pytest.raises(CanonicalError) as caught:
        canonical({"attributes": {"weight": 72.5}})
    assert caught.value.path == "attributes.weight"
    assert caught.value.reason.startswith("floats are not allowed")
    assert isinstance(caught.value, ValueError)


def test_self_containing_list_is_rejected_not_crashing():
    loop = []
    loop.append(loop)
    with pytest.raises(CanonicalError, match="nesting too deep"):
        canonical(loop)


def test_integer_bounds_and_bools():
    assert canonical([MAX_SAFE_INT, -MAX_SAFE_INT]) == b"[9007199254740991,-9007199254740991]"
    assert canonical([True, False, None, 1, 0]) == b"[true,false,null,1,0]"
    assert canonical({"a": True}) != canonical({"a": 1})


def test_subclasses_of_accepted_types_encode_as_their_base():
    class Level(enum.IntEnum):
        HIGH = 3

    class Kind(str, enum.Enum):
        READ = "record.read"

    doc = OrderedDict(b=Int64(2**40), a=(Level.HIGH, Kind.READ))
    assert canonical(doc) == b'{"a":[3,"record.read"],"b":1099511627776}'
    with pytest.raises(CanonicalError):
        canonical(Int64(2**53))


def test_values_read_back_from_bson_encode_identically():
    written_at = datetime(2026, 11, 22, 2, 27, 14, 302_999, tzinfo=timezone.utc)
    doc = {"height": Int64(2**40), "version": 3, "delta": -7, "name": "Zoë Ångström \U0001f600",
           "timestamp": rfc3339(written_at), "nested": {"list": [1, "x", None, True, Int64(5)]}}
    for options in (CodecOptions(), CodecOptions(tz_aware=True)):
        back = bson.decode(bson.encode(doc), codec_options=options)
        assert isinstance(back["height"], Int64)
        assert canonical(back) == canonical(doc)


@pytest.mark.parametrize("tz_aware", [False, True])
def test_datetime_through_bson_gives_the_same_timestamp_string(tz_aware):
    written_at = datetime(2026, 11, 22, 2, 27, 14, 302_999, tzinfo=timezone.utc)
    back = bson.decode(bson.encode({"t": written_at}),
                       codec_options=CodecOptions(tz_aware=tz_aware))["t"]
    assert back != written_at  # BSON dropped the microseconds ...
    assert rfc3339(back) == rfc3339(written_at) == "2026-11-22T02:27:14.302Z"  # ... harmlessly


def test_rfc3339_formats_utc_milliseconds():
    plus_two = timezone(timedelta(hours=2))
    assert rfc3339(datetime(2026, 11, 22, 4, 27, 14, 302_000, tzinfo=plus_two)) == \
        "2026-11-22T02:27:14.302Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"  # naive = UTC
    assert rfc3339(datetime(999, 12, 31, 23, 59, 59, 999_999)) == "0999-12-31T23:59:59.999Z"
    with pytest.raises(TypeError):
        rfc3339("2026-01-01")


def test_parse_rfc3339():
    parsed = parse_rfc3339("2026-11-22T02:27:14.302Z")
    assert parsed == datetime(2026, 11, 22, 2, 27, 14, 302_000, tzinfo=timezone.utc)
    assert parsed.tzinfo == timezone.utc
    assert rfc3339(parsed) == "2026-11-22T02:27:14.302Z"
    assert parse_rfc3339("2026-11-22T04:27:14.3021239+02:00") == \
        datetime(2026, 11, 22, 2, 27, 14, 302_123, tzinfo=timezone.utc)
    assert parse_rfc3339("2026-11-22t02:27:14z") == datetime(2026, 11, 22, 2, 27, 14,
                                                             tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["2026-11-22", "2026-11-22 02:27:14Z", "2026-11-22T02:27:14",
                                  "2026-13-01T00:00:00Z", "2026-11-22T02:27:14.Z", "", None])
def test_parse_rfc3339_rejects(text):
    with pytest.raises(ValueError):
        parse_rfc3339(text)
