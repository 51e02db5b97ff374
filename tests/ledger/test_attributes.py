"""ledger.attributes: salted leaves, single-attribute proofs, naming the altered attribute."""
import base64
import hashlib
import random

import pytest

from ledger.attributes import (attribute_leaf, attribute_leaf_hashes, attribute_proof,
                               attribute_root, find_mismatches, new_salt, sorted_names,
                               verify_attribute)
from ledger.encoding import CanonicalError, canonical
from ledger.merkle import root_from_hashes

SALT = base64.b64encode(bytes(range(16))).decode()  # "AAECAwQFBgcICQoLDA0ODw=="


def _record(n=6):
    attributes = {"blood_group": "A+", "weight": "72.5", "sex": "F", "allergies": ["penicillin"],
                  "height_cm": 168, "notes": "Zoë, NFC"}
    attributes = dict(list(attributes.items())[:n])
    return attributes, {name: new_salt() for name in attributes}


def test_new_salt_is_16_random_bytes_in_padded_base64():
    salts = {new_salt() for _ in range(50)}
    assert len(salts) == 50
    for salt in salts:
        assert len(salt) == 24 and salt.endswith("==")
        assert len(base64.b64decode(salt, validate=True)) == 16


def test_leaf_is_the_canonical_triple():
    assert attribute_leaf("weight", "72.5", SALT) == b'["weight","72.5","AAECAwQFBgcICQoLDA0ODw=="]'


def test_leaf_hashes_follow_sorted_names():
    attributes, salts = _record()
    names = sorted_names(attributes)
    assert names == ["allergies", "blood_group", "height_cm", "notes", "sex", "weight"]
    expected = [hashlib.sha256(b"\x00" + attribute_leaf(n, attributes[n], salts[n])).digest()
                for n in names]
    assert attribute_leaf_hashes(attributes, salts) == expected
    assert attribute_root(expected) == root_from_hashes(expected)


def test_names_sort_in_jcs_order():
    attributes = {"\uff61": 1, "\U0001f600": 2, "b": 3, "a": 4}
    assert sorted_names(attributes) == ["a", "b", "\U0001f600", "\uff61"]


def test_salt_changes_the_leaf():
    assert attribute_leaf_hashes({"sex": "F"}, {"sex": SALT}) != \
        attribute_leaf_hashes({"sex": "F"}, {"sex": new_salt()})


@pytest.mark.parametrize("salts, message", [
    ({}, "attributes.weight: no salt"),
    ({"weight": "c2hvcnQ="}, "attributes.weight: salt is not 16 bytes"),
    ({"weight": "not base64!"}, "attributes.weight: salt is not 16 bytes"),
    ({"weight": SALT.replace("Dw==", "Dx==")}, "attributes.weight: salt is not 16 bytes"),
    ({"weight": SALT.rstrip("=")}, "attributes.weight: salt is not 16 bytes"),
    ({"weight": bytes(16)}, "attributes.weight: salt is not 16 bytes"),
])
def test_bad_salts_are_rejected_naming_the_attribute(salts, message):
    with pytest.raises(CanonicalError) as caught:
        attribute_leaf_hashes({"weight": "72.5"}, salts)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("value, message", [
    (72.5, "attributes.weight: floats are not allowed"),
    ({"kg": 72.5}, "attributes.weight.kg: floats are not allowed"),
    (2**60, "attributes.weight: integer"),
])
def test_values_outside_the_domain_are_rejected_naming_the_attribute(value, message):
    with pytest.raises(CanonicalError) as caught:
        attribute_leaf_hashes({"weight": value}, {"weight": SALT})
    assert str(caught.value).startswith(message)


def test_non_string_names_are_rejected():
    with pytest.raises(CanonicalError, match="attribute names must be strings"):
        sorted_names({1: "x"})


@pytest.mark.parametrize("n", range(1, 7))
def test_every_attribute_proves_alone(n):
    attributes, salts = _record(n)
    root = attribute_root(attribute_leaf_hashes(attributes, salts))
    for name, value in attributes.items():
        index, proof = attribute_proof(attributes, salts, name)
        assert verify_attribute(name, value, salts[name], index, n, proof, root)
        assert not verify_attribute(name, "tampered", salts[name], index, n, proof, root)
        assert not verify_attribute(name, value, new_salt(), index, n, proof, root)
        assert not verify_attribute(name + "x", value, salts[name], index, n, proof, root)
        # The count is bound by the block's attr_count, not by the path: n + 1 can share the
        # path's shape, so probe counts that cannot (as transparency-dev/merkle does).
        assert not verify_attribute(name, value, salts[name], index, n * 2, proof, root)
        if n > 1:
            assert not verify_attribute(name, value, salts[name], (index + 1) % n, n, proof, root)


def test_attribute_proof_of_unknown_name():
    attributes, salts = _record()
    with pytest.raises(KeyError):
        attribute_proof(attributes, salts, "ssn")


@pytest.mark.parametrize("value, salt", [(72.5, SALT), ("72.5", "bad"), ("72.5", None)])
def test_verify_attribute_rejects_garbage_without_raising(value, salt):
    root = attribute_root(attribute_leaf_hashes({"weight": "72.5"}, {"weight": SALT}))
    assert verify_attribute("weight", value, salt, 0, 1, [], root) is False


def test_no_mismatch_when_intact():
    attributes, salts = _record()
    stored = attribute_leaf_hashes(attributes, salts)
    assert find_mismatches(attributes, salts, stored) == []
    assert find_mismatches(attributes, salts, stored, sorted_names(attributes)) == []


@pytest.mark.parametrize("with_names", [False, True])
def test_altered_value_or_salt_is_named(with_names):
    attributes, salts = _record()
    stored = attribute_leaf_hashes(attributes, salts)
    names = sorted_names(attributes) if with_names else None
    assert find_mismatches({**attributes, "weight": "92.5"}, salts, stored, names) == ["weight"]
    assert find_mismatches(attributes, {**salts, "sex": new_salt()}, stored, names) == ["sex"]
    assert find_mismatches({**attributes, "sex": "M", "height_cm": 1}, salts, stored, names) == \
        ["height_cm", "sex"]


@pytest.mark.parametrize("with_names", [False, True])
def test_tampered_data_outside_the_domain_is_a_mismatch_not_a_crash(with_names):
    attributes, salts = _record()
    stored = attribute_leaf_hashes(attributes, salts)
    names = sorted_names(attributes) if with_names else None
    assert find_mismatches({**attributes, "weight": 72.5}, salts, stored, names) == ["weight"]
    salts_without = {k: v for k, v in salts.items() if k != "notes"}
    assert find_mismatches(attributes, salts_without, stored, names) == ["notes"]


def test_removed_and_added_attributes():
    attributes, salts = _record()
    stored = attribute_leaf_hashes(attributes, salts)
    names = sorted_names(attributes)
    fewer = {k: v for k, v in attributes.items() if k != "blood_group"}
    assert find_mismatches(fewer, salts, stored, names) == ["blood_group"]
    assert find_mismatches(fewer, salts, stored) == ["#1"]  # position in the sealed order
    more = {**attributes, "hiv_status": "negative"}
    more_salts = {**salts, "hiv_status": new_salt()}
    assert find_mismatches(more, more_salts, stored, names) == ["hiv_status"]
    assert find_mismatches(more, more_salts, stored) == ["hiv_status"]


def test_extra_stored_leaves_are_reported_by_position():
    attributes, salts = _record(2)
    stored = attribute_leaf_hashes(attributes, salts)
    assert find_mismatches(attributes, salts, stored + [stored[0]], sorted_names(attributes)) \
        == ["#2"]


def test_attribute_leaf_fast_path_equals_canonical_on_generated_strings():
    """The direct encoding of three ASCII strings is byte for byte canonical()'s; anything
    else (non-ASCII, numbers, lists) takes canonical() itself."""
    rng = random.Random(16)
    alphabet = [chr(c) for c in range(0, 128)] + ["é", "e\u0301", "\u2028", "😀", "\ufffd"]
    for _ in range(3000):
        name, value = ("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
                       for _ in range(2))
        salt = new_salt()
        try:
            expected = canonical([name, value, salt])
        except CanonicalError:  # "e\u0301" is not NFC: both refuse it
            with pytest.raises(CanonicalError):
                attribute_leaf(name, value, salt)
            continue
        assert attribute_leaf(name, value, salt) == expected, (name, value)
    for value in (3, True, None, ["a", 1], {"k": "v"}, 10 ** 15):
        assert attribute_leaf("n", value, "s") == canonical(["n", value, "s"])
