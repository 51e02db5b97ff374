"""Encryption at rest through its public functions, without an app.

Each binding (record id and version, attachment patient and hash, secret owner) is tried on
its own, so that dropping any one of them from the associated data fails a test here
(mutation testing: scripts/mutation crypto; the authority MAC: tests/test_authority_mac.py).
"""
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from models.storage import crypto

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def _flip(data, index=0):
    data = bytearray(data)
    data[index] ^= 1
    return bytes(data)


# Records ------------------------------------------------------------------------------------

def test_a_record_box_round_trips_and_reads_in_the_documented_format():
    payload = {"b": "Ödem", "a": [1, 2]}
    box = crypto.encrypt(KEY, "R-1", 3, payload)
    assert box["scheme"] == "aes-256-gcm/v1" and len(box["nonce"]) == 12 == crypto.NONCE_BYTES
    assert len(box["tag"]) == 16
    assert crypto.decrypt(KEY, "R-1", 3, box) == payload
    # A box written by any AES-GCM with the documented associated data reads back: the format
    # of stored data cannot drift unnoticed.
    nonce = bytes(12)
    sealed = AESGCM(KEY).encrypt(nonce, b'{"a":1}', b"medledger-record\nR-1\n3")
    stored = {"scheme": "aes-256-gcm/v1", "nonce": nonce, "ciphertext": sealed[:-16],
              "tag": sealed[-16:]}
    assert crypto.decrypt(KEY, "R-1", 3, stored) == {"a": 1}
    assert crypto.decrypt(KEY, "R-1", "3", stored) == {"a": 1}  # a version read as text


def test_the_plaintext_is_canonical_json():
    """Sorted keys, no spaces, UTF-8 as is: the ciphertext's length shows the encoding."""
    box = crypto.encrypt(KEY, "R-1", 1, {"b": "é", "a": 1})
    plain = AESGCM(KEY).decrypt(bytes(box["nonce"]), bytes(box["ciphertext"]) + box["tag"],
                                crypto.associated_data("R-1", 1))
    assert plain == '{"a":1,"b":"é"}'.encode()


@pytest.mark.parametrize("record_id, version, key", [
    ("R-2", 3, KEY), ("R-1", 4, KEY), ("R-1", 3, OTHER_KEY)],
    ids=["other record", "other version", "other key"])
def test_a_record_box_moved_to_another_record_or_version_fails(record_id, version, key):
    box = crypto.encrypt(KEY, "R-1", 3, {"a": 1})
    with pytest.raises(crypto.TamperedCiphertext) as caught:
        crypto.decrypt(key, record_id, version, box)
    assert str(caught.value) == (f"Record {record_id} version {version} failed its integrity "
                                 "check (its encrypted data was altered). It cannot be shown.")
    assert caught.value.status == 500


@pytest.mark.parametrize("change", [
    lambda box: box.update(scheme="aes-128-gcm/v1"),
    lambda box: box.pop("scheme"),
    lambda box: box.update(nonce=_flip(box["nonce"])),
    lambda box: box.update(ciphertext=_flip(box["ciphertext"])),
    lambda box: box.update(tag=_flip(box["tag"], 15)),
    lambda box: box.update(tag=bytes(box["tag"])[:12]),
    lambda box: box.update(tag=bytes(box["tag"]) + bytes(box["ciphertext"])[-1:],
                           ciphertext=bytes(box["ciphertext"])[:-1]),
    lambda box: box.pop("tag"),
    lambda box: box.update(nonce=None),
])
def test_any_change_to_a_record_box_fails(change):
    box = crypto.encrypt(KEY, "R-1", 3, {"a": 1})
    change(box)
    with pytest.raises(crypto.TamperedCiphertext):
        crypto.decrypt(KEY, "R-1", 3, box)


def test_a_box_that_is_not_a_dict_fails_as_tampering():
    with pytest.raises(crypto.TamperedCiphertext):
        crypto.decrypt(KEY, "R-1", 3, "not a box")


# Attachments --------------------------------------------------------------------------------

SCAN = b"%PDF-1.4 scan of the left knee"


def test_an_attachment_round_trips_as_nonce_tag_ciphertext():
    blob = crypto.encrypt_file(KEY, "P-1", "ab" * 32, SCAN)
    assert len(blob) == 12 + 16 + len(SCAN)
    assert crypto.decrypt_file(KEY, "P-1", "ab" * 32, blob) == SCAN
    tag, ciphertext = blob[12:28], blob[28:]
    expected = AESGCM(KEY).encrypt(blob[:12], SCAN,
                                   b"medledger-attachment\nP-1\n" + b"ab" * 32)
    assert ciphertext + tag == expected


@pytest.mark.parametrize("patient_id, sha256, key", [
    ("P-2", "ab" * 32, KEY), ("P-1", "cd" * 32, KEY), ("P-1", "ab" * 32, OTHER_KEY)],
    ids=["other patient", "other hash", "other key"])
def test_an_attachment_is_bound_to_its_patient_and_its_hash(patient_id, sha256, key):
    blob = crypto.encrypt_file(KEY, "P-1", "ab" * 32, SCAN)
    with pytest.raises(crypto.TamperedCiphertext) as caught:
        crypto.decrypt_file(key, patient_id, sha256, blob)
    assert str(caught.value) == ("This attachment failed its integrity check (its stored "
                                 "content was altered). It cannot be downloaded.")


@pytest.mark.parametrize("index", [0, 12, 27, 28])
def test_any_changed_byte_of_an_attachment_fails(index):
    blob = crypto.encrypt_file(KEY, "P-1", "ab" * 32, SCAN)
    with pytest.raises(crypto.TamperedCiphertext):
        crypto.decrypt_file(KEY, "P-1", "ab" * 32, _flip(blob, index))
    with pytest.raises(crypto.TamperedCiphertext):
        crypto.decrypt_file(KEY, "P-1", "ab" * 32, blob[:20])


# Secrets ------------------------------------------------------------------------------------

def test_a_secret_round_trips_as_hex_and_is_bound_to_its_owner():
    box = crypto.encrypt_secret(KEY, "user:1", "JBSWY3DP")
    assert box["scheme"] == "aes-256-gcm/v1"
    assert [len(bytes.fromhex(box[part])) for part in ("nonce", "tag", "ciphertext")] == \
        [12, 16, 8]
    assert crypto.decrypt_secret(KEY, "user:1", box) == "JBSWY3DP"
    sealed = AESGCM(KEY).encrypt(bytes.fromhex(box["nonce"]), b"JBSWY3DP",
                                 b"medledger-secret\nuser:1")
    assert sealed == bytes.fromhex(box["ciphertext"] + box["tag"])
    for binding, key in (("user:2", KEY), ("user:1", OTHER_KEY)):
        with pytest.raises(crypto.TamperedCiphertext) as caught:
            crypto.decrypt_secret(key, binding, box)
        assert str(caught.value) == ("A stored secret failed its integrity check (it was "
                                     "altered). It cannot be used.")


@pytest.mark.parametrize("change", [
    lambda box: box.update(scheme="other"),
    lambda box: box.update(tag=box["tag"][:-2] + ("00" if box["tag"][-2:] != "00" else "01")),
    lambda box: box.update(nonce="zz"),
    lambda box: box.pop("ciphertext"),
])
def test_any_change_to_a_secret_fails(change):
    box = crypto.encrypt_secret(KEY, "user:1", "JBSWY3DP")
    change(box)
    with pytest.raises(crypto.TamperedCiphertext):
        crypto.decrypt_secret(KEY, "user:1", box)


def test_one_aes_gcm_object_per_key_not_one_per_record():
    """The full audit decrypts every sealed record version: the cipher object is made once."""
    first, second = bytes(range(32)), bytes(range(1, 33))
    assert crypto._aead(first) is crypto._aead(bytes(first))
    assert crypto._aead(first) is not crypto._aead(second)
