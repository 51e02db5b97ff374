"""The web audit's shortcuts in ledger.attributes give exactly the generic code's verdicts.

The salt check, scalar leaves and ASCII name order skip decoding, canonical() and the UTF-16
sort key; each is compared here with the generic rule on generated inputs, edges included.
"""
import base64
import binascii
import random
import unicodedata

import pytest

from ledger.attributes import _check_salt, attribute_leaf, find_mismatches, sorted_names
from ledger.encoding import MAX_SAFE_INT, CanonicalError, canonical, utf16_sort_key
from ledger.merkle import leaf_hash

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _salt_is_valid(salt):
    """The rule as written before the shortcut: 16 bytes in canonical standard base64."""
    try:
        raw = base64.b64decode(salt, validate=True) if isinstance(salt, str) else b""
    except binascii.Error:
        return False
    return len(raw) == 16 and base64.b64encode(raw).decode("ascii") == salt


def _accepted(salt):
    try:
        _check_salt("weight", salt)
        return True
    except CanonicalError:
        return False


def _salt_candidates(rng):
    for _ in range(300):
        good = base64.b64encode(rng.randbytes(16)).decode()
        yield good
        at = rng.randrange(len(good))
        for char in B64[rng.randrange(64):][:8] + "=-_ \n.":
            yield good[:at] + char + good[at + 1:]
        yield good[:-1]
        yield good + "\n"
        yield good[:-2]
        yield base64.b64encode(rng.randbytes(rng.choice((15, 17)))).decode()
    for last in B64:  # the sextet that holds the last 2 bits: only A, Q, g, w are canonical
        yield "A" * 21 + last + "=="
    yield from (None, b"A" * 24, 16, "")


def test_salt_check_matches_decode_and_re_encode():
    rng = random.Random(1616)
    seen = {True: 0, False: 0}
    for salt in _salt_candidates(rng):
        assert _accepted(salt) == _salt_is_valid(salt), repr(salt)
        seen[_salt_is_valid(salt)] += 1
    assert seen[True] > 300 and seen[False] > 1000


SCALARS = (0, 1, -1, 131, MAX_SAFE_INT, -MAX_SAFE_INT, MAX_SAFE_INT + 1, -MAX_SAFE_INT - 1,
           10 ** 30, True, False, None, "", "72.5", 'quote " and \\ slash', "\x00\x1f\x7f",
           "é", [], [1], [None], {}, {"a": 1}, 1.5, 2.0, 1e21, float("nan"), b"", (),
           type("Text", (str,), {})("a subclass"), type("Number", (int,), {})(3))


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_scalar_leaf_is_canonical_or_refused_like_canonical(value):
    salt = "A" * 21 + "Q=="
    try:
        expected = canonical(["data.n", value, salt])
    except CanonicalError:
        with pytest.raises(CanonicalError):
            attribute_leaf("data.n", value, salt)
    else:
        assert attribute_leaf("data.n", value, salt) == expected


def test_the_audits_loop_recomputes_every_scalar_as_canonical_does():
    """find_mismatches (the audit's loop, with its own in-line encoding) finds a stored leaf
    intact exactly when it is the leaf hash of canonical([name, value, salt])."""
    salt = "A" * 21 + "Q=="
    for value in SCALARS:
        attributes = {"data.n": value, "data.s": "kept"}
        salts = dict.fromkeys(attributes, salt)
        try:
            expected = leaf_hash(canonical(["data.n", value, salt]))
        except CanonicalError:
            expected = None
        other = leaf_hash(canonical(["data.s", "kept", salt]))
        stored = [expected or leaf_hash(b"unencodable"), other]
        assert find_mismatches(attributes, salts, stored) == ([] if expected else ["data.n"])
        wrong = [leaf_hash(canonical(["data.n", "something else", salt])), other]
        assert find_mismatches(attributes, salts, wrong) == ["data.n"], repr(value)


def test_scalar_leaf_with_non_ascii_name_or_salt_is_canonical():
    for name, salt in (("poids_é", "s"), ("e\u0301", "s"), ("n", "sé"), ("n", "\ud800")):
        try:
            expected = canonical([name, 7, salt])
        except CanonicalError:
            with pytest.raises(CanonicalError):
                attribute_leaf(name, 7, salt)
        else:
            assert attribute_leaf(name, 7, salt) == expected


def _generic_order(names):
    return sorted(names, key=lambda n: utf16_sort_key(unicodedata.normalize("NFC", n)))


def test_ascii_names_sort_as_the_generic_jcs_order():
    rng = random.Random(16)
    alphabet = [chr(c) for c in range(128)]
    for _ in range(500):
        names = {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
                 for _ in range(rng.randint(0, 25))}
        assert sorted_names(dict.fromkeys(names)) == _generic_order(names)


def test_a_non_ascii_name_still_takes_the_generic_path():
    names = {"a": 1, "\uff61": 2, "\U0001f600": 3}
    assert sorted_names(names) == ["a", "\U0001f600", "\uff61"]
    with pytest.raises(CanonicalError):
        sorted_names({"a": 1, "\ud800": 2})
    with pytest.raises(CanonicalError):
        sorted_names({"a": 1, 2: 2})
