"""Ed25519 through OpenSSL (`cryptography`) when it is installed, through pycryptodome when it
is not (the receipt verifier's zip application): the same signatures, the same verdicts."""
import pytest

from ledger import notes
from ledger.notes import NoteError, SigningKey, VerifierKey

MESSAGES = [b"", b"medledger.test/log\n20\n" + b"x" * 44 + b"\n", "Müller ✓".encode()]


def _keys(monkeypatch, backend):
    if backend == "pycryptodome":
        monkeypatch.setattr(notes, "openssl_ed25519", None)
    return [SigningKey.from_seed(f"key{i}", bytes([i]) * 32) for i in range(3)]


def _signatures(keys):
    return [key.sign(message) for key in keys for message in MESSAGES]


def test_openssl_is_the_backend_when_cryptography_is_installed():
    assert notes.openssl_ed25519 is not None
    key = SigningKey.generate("k")
    assert "cryptography" in type(key._sign.__self__).__module__


@pytest.mark.parametrize("backend", ["openssl", "pycryptodome"])
def test_both_backends_sign_identically_and_agree_on_every_verdict(monkeypatch, backend):
    openssl_keys = _keys(monkeypatch, "openssl")
    keys = _keys(monkeypatch, backend)
    assert [key.public() for key in keys] == [key.public() for key in openssl_keys]
    assert _signatures(keys) == _signatures(openssl_keys)
    for key in keys:
        public = VerifierKey(key.name, key.public().public_key)
        for message in MESSAGES:
            signature = key.sign(message)
            assert public.verify(message, signature)
            assert not public.verify(message + b"!", signature)
            assert not public.verify(message, signature[:63])
            assert not public.verify(message, signature + b"\0")
            flipped = bytes([signature[0] ^ 1]) + signature[1:]
            assert not public.verify(message, flipped)
            # S + L: the same point equation, but S out of range (RFC 8032 5.1.7: reject)
            s = int.from_bytes(signature[32:], "little") + 2**252 + \
                27742317777372353535851937790883648493
            assert not public.verify(message, signature[:32] + s.to_bytes(32, "little"))
        other = SigningKey.from_seed("other", b"\x09" * 32)
        assert not public.verify(MESSAGES[1], other.sign(MESSAGES[1]))


@pytest.mark.parametrize("backend", ["openssl", "pycryptodome"])
def test_a_point_off_the_curve_is_not_a_key_with_either_backend(monkeypatch, backend):
    _keys(monkeypatch, backend)
    with pytest.raises(NoteError, match="not an Ed25519 public key"):
        VerifierKey("bad", (2).to_bytes(32, "little"))
