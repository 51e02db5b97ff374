"""Per-event attribute trees: one salted leaf per attribute, so single values can be proven.

A leaf is canonical([name, value, salt]). The random salt stops anyone from confirming a
low-entropy value (blood group, sex) against a published hash; the tree lets a receipt disclose
one attribute without the others; and because the block keeps every leaf hash, an auditor can
name exactly which attribute changed. Leaves are ordered by attribute name in the JCS key order
(UTF-16 code units of the NFC name), the same order canonical() gives object keys.
"""
import base64
import binascii
import re
import secrets
import unicodedata
from json.encoder import encode_basestring

from ledger.encoding import MAX_SAFE_INT, CanonicalError, canonical, utf16_sort_key
from ledger.merkle import (inclusion_proof_from_hashes, leaf_hash, root_from_hashes,
                           verify_inclusion)

__all__ = ["new_salt", "attribute_leaf", "attribute_leaf_hashes", "sorted_names",
           "attribute_root", "attribute_proof", "verify_attribute", "find_mismatches"]

SALT_BYTES = 16
_CANONICAL_SALT = re.compile(r"[A-Za-z0-9+/]{21}[AQgw]==")
"""Exactly the standard base64 texts of 16 bytes: 21 full sextets, then one holding the last
2 bits followed by 4 zero bits (A, Q, g, w), then the padding."""


def new_salt() -> str:
    """16 random bytes, standard base64 with padding."""
    return base64.b64encode(secrets.token_bytes(SALT_BYTES)).decode("ascii")


def _check_salt(name: str, salt) -> None:
    if type(salt) is str and _CANONICAL_SALT.fullmatch(salt):
        return  # the common case, without decoding and re-encoding it (same verdict)
    if salt is None:
        raise CanonicalError("no salt", f"attributes.{name}")
    try:
        raw = base64.b64decode(salt, validate=True) if isinstance(salt, str) else b""
    except binascii.Error:
        raw = b""
    if len(raw) != SALT_BYTES or base64.b64encode(raw).decode("ascii") != salt:
        raise CanonicalError("salt is not 16 bytes in standard base64", f"attributes.{name}")


def _literal(value) -> str | None:
    """The JSON text of an ASCII-safe common value (a string, a safe integer, a bool, None,
    the empty list) as canonical() writes it, or None for anything else. Strings come back
    escaped but not yet checked for ASCII: the caller checks the whole leaf text once."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is int:
        return str(value) if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else None
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    return "[]" if kind is list and not value else None


def attribute_leaf(name: str, value, salt: str) -> bytes:
    """The leaf data for one attribute: canonical([name, value, salt]).

    ASCII name and salt with one of _literal's common values are written directly: for
    ASCII, NFC is the identity and JSON's string escaping is JCS's, so the bytes are
    canonical()'s (tested on generated values) at a fraction of its generic walk, which the
    web audit pays for every attribute of every record.
    """
    if type(name) is str and type(salt) is str:
        text = _literal(value)
        if text is not None:
            text = f"[{encode_basestring(name)},{text},{encode_basestring(salt)}]"
            if text.isascii():
                return text.encode("ascii")
    return canonical([name, value, salt])


def _name_key(name: str) -> bytes:
    return utf16_sort_key(unicodedata.normalize("NFC", name))


def sorted_names(attributes) -> list[str]:
    """Attribute names in leaf order (JCS order of the NFC names).

    All ASCII `str` names (the common case) sort as they are: NFC is the identity, there is
    no surrogate, and UTF-16 code units order them as code points do.
    """
    if all(type(name) is str and name.isascii() for name in attributes):
        return sorted(attributes)
    for name in attributes:
        if not isinstance(name, str):
            raise CanonicalError(f"attribute names must be strings, not {type(name).__name__}",
                                 "attributes")
        # Rejects NFD and lone surrogates before they reach the sort key, naming the attribute.
        canonical({"attributes": {name: None}})
    return sorted(attributes, key=_name_key)


def _leaf_hash(name: str, value, salt) -> bytes:
    """One attribute's leaf hash; CanonicalError names the attribute."""
    _check_salt(name, salt)
    try:
        return leaf_hash(attribute_leaf(name, value, salt))
    except CanonicalError:
        canonical({"attributes": {name: value}})  # the same error, with the attribute's path
        raise


def _salt_map(salts) -> dict:
    """The salts by attribute name. Salts read back from a database may be anything (an
    insider's edit): what is not a mapping holds no salt, so every attribute mismatches."""
    return salts if isinstance(salts, dict) else {}


def attribute_leaf_hashes(attributes: dict, salts: dict) -> list[bytes]:
    """One leaf hash per attribute, in sorted_names() order (CanonicalError without a salt)."""
    salts = _salt_map(salts)
    return [_leaf_hash(name, attributes[name], salts.get(name))
            for name in sorted_names(attributes)]


def attribute_root(leaf_hashes: list[bytes]) -> bytes:
    """The attribute tree root (RFC 6962 MTH over the leaf hashes)."""
    return root_from_hashes(leaf_hashes)


def attribute_proof(attributes: dict, salts: dict, name: str) -> tuple[int, list[bytes]]:
    """(index in leaf order, inclusion proof) for one attribute; KeyError if it is absent."""
    if name not in attributes:
        raise KeyError(name)
    index = sorted_names(attributes).index(name)
    return index, inclusion_proof_from_hashes(attribute_leaf_hashes(attributes, salts), index)


def verify_attribute(name: str, value, salt: str, index: int, count: int,
                     proof: list[bytes], attr_root: bytes) -> bool:
    """Whether a disclosed (name, value, salt) is leaf `index` of the tree with `attr_root`."""
    try:
        _check_salt(name, salt)
        leaf = attribute_leaf(name, value, salt)
    except CanonicalError:
        return False
    return verify_inclusion(leaf, index, count, proof, attr_root)


def _leaf_hash_or_none(name, attributes, salts):
    try:
        return _leaf_hash(name, attributes[name], salts.get(name))
    except CanonicalError:
        return None


def _recomputed(attributes, salts, names):
    """{name: leaf hash, or None if it cannot be encoded}: the audit's loop over every
    attribute of every record, with the common case (ASCII name, one of _literal's values,
    a canonical salt) encoded in line and everything else through _leaf_hash."""
    fullmatch, quote, literal, out = _CANONICAL_SALT.fullmatch, encode_basestring, _literal, {}
    for name in names:
        value, salt = attributes[name], salts.get(name)
        if type(salt) is str and fullmatch(salt):
            text = literal(value)
            if text is not None:
                text = f"[{quote(name)},{text},\"{salt}\"]"  # base64 needs no escape
                if text.isascii():
                    out[name] = leaf_hash(text.encode("ascii"))
                    continue
        out[name] = _leaf_hash_or_none(name, attributes, salts)
    return out


def find_mismatches(attributes: dict, salts: dict, stored_leaf_hashes: list[bytes],
                    names_in_order: list[str] | None = None) -> list[str]:
    """Names of attributes that no longer match the leaf hashes stored in the block.

    With `names_in_order` (the names as they were sealed) each stored leaf is compared with
    the attribute of the same name, and names present on one side only are reported too.
    Without it, an attribute is intact if its leaf hash is among the stored ones (the hash
    binds name, value and salt); when the counts differ, stored leaves that no attribute
    matches are reported by position as "#<index>". Values outside the canonical domain or
    missing salts count as mismatches rather than raising, since the data may be tampered.
    """
    names, salts = sorted_names(attributes), _salt_map(salts)
    if names_in_order is not None:
        return _mismatches_by_name(attributes, salts, stored_leaf_hashes, names, names_in_order)
    recomputed = _recomputed(attributes, salts, names)
    stored = set(stored_leaf_hashes)
    bad = [name for name in names if recomputed[name] not in stored]
    if len(stored_leaf_hashes) != len(names):
        matched = set(recomputed.values())
        bad += [f"#{i}" for i, h in enumerate(stored_leaf_hashes) if h not in matched]
    return bad


def _mismatches_by_name(attributes, salts, stored_leaf_hashes, names, names_in_order):
    sealed = dict(zip(names_in_order, stored_leaf_hashes))
    bad = [name for name in names
           if name not in sealed or _leaf_hash_or_none(name, attributes, salts) != sealed[name]]
    bad += [name for name in names_in_order if name not in attributes]
    bad += [f"#{i}" for i in range(len(names_in_order), len(stored_leaf_hashes))]
    return bad
