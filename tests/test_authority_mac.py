"""The authority MAC through its public functions, on mongomock, without an app.

A forged deciding field, a document moved to another id or collection, a key that is not the
app's, a compare-and-set on a stale or forged state: each must fail closed (mutation testing:
scripts/mutation crypto).
"""
import dataclasses
import hashlib
import hmac
import logging
import os
from datetime import datetime, timedelta, timezone

import flask

import mongomock
import pytest
from bson import Binary, Decimal128, MaxKey, MinKey, ObjectId, Regex, Timestamp

from models.storage import authority

KEY, NEW_KEY = bytes(range(32)), bytes(range(100, 132))
WIDGETS = authority.Protected("widgets", ("owner", "grant.scope", "until"),
                              name=lambda doc: f"widget {doc.get('owner')}")


@pytest.fixture
def ring(monkeypatch):
    """A keyring installed as the app's, and one protected collection, both undone after."""
    monkeypatch.setattr(authority, "_installed", list(authority._installed))
    monkeypatch.setattr(authority, "PROTECTED", dict(authority.PROTECTED))
    authority.declare(WIDGETS)
    ring = authority.Keyring([KEY])
    authority.install(ring)
    return ring


@pytest.fixture
def widgets(ring):
    return mongomock.MongoClient().db.widgets


def _widget(**fields):
    doc = {"owner": "ana", "grant": {"scope": ["labs"]}, "note": "free text",
           "until": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)}
    doc.update(fields)
    return authority.stamp("widgets", doc)


def test_a_stamped_document_verifies_and_names_each_forged_field(ring):
    doc = _widget()
    assert isinstance(doc["_id"], ObjectId) and doc["auth"]["kid"] == ring.current
    assert set(doc["auth"]["fields"]) == {"owner", "grant/scope", "until"}
    assert len(doc["auth"]["fields"]["owner"]) == 32 and len(doc["auth"]["mac"]) == 64
    assert authority.verify("widgets", doc) == []
    assert authority.verify("widgets", dict(doc, note="edited")) == []  # decides nothing
    assert authority.verify("widgets", dict(doc, owner="eve")) == ["owner"]
    assert authority.verify("widgets", dict(doc, grant={"scope": ["all"]})) == ["grant.scope"]
    missing = {k: v for k, v in doc.items() if k != "owner"}
    assert authority.verify("widgets", missing) == ["owner"]
    assert authority.verify("widgets", dict(doc, owner=None)) == ["owner"]
    later = doc["until"].replace(microsecond=679000)
    assert authority.verify("widgets", dict(doc, until=later)) == ["until"]
    # to the millisecond, as MongoDB stores it
    assert authority.verify("widgets", dict(doc, until=doc["until"].replace(microsecond=678000))
                            ) == []


@pytest.mark.parametrize("value", [Decimal128("1"), Binary(b"ana"), Regex("an."), b"ana",
                                   Timestamp(1, 1), MinKey(), MaxKey(), {"nested": Binary(b"x")}],
                         ids=repr)
def test_a_value_with_no_json_form_fails_its_field_and_raises_nothing_else(ring, value):
    """An insider's BSON value in a deciding field is a forgery like any other: a 403 where
    it is used, a named field in the audit (it raised TypeError: a 500, a failed audit)."""
    forged = dict(_widget(), owner=value)
    assert authority.verify("widgets", forged) == ["owner"]
    with pytest.raises(authority.Unauthentic):
        authority.require("widgets", forged)


def test_a_moved_document_or_a_broken_mac_fails_every_field(ring):
    doc = _widget()
    assert authority.verify("widgets", dict(doc, _id=ObjectId())) == list(WIDGETS.fields)
    assert authority.verify("widgets", {k: v for k, v in doc.items() if k != "auth"}) == ["auth"]
    assert authority.verify("widgets", dict(doc, auth="forged")) == ["auth"]
    assert authority.verify("widgets", dict(doc, auth=dict(doc["auth"], kid="other"))) == \
        ["auth"]
    both = dict(doc, owner="eve", auth=dict(doc["auth"], fields="gone"))
    assert authority.verify("widgets", both) == list(WIDGETS.fields)
    # a forged MAC over true fields: no field to name, still refused
    assert authority.verify("widgets", dict(doc, auth=dict(doc["auth"], mac="0" * 64))) == \
        ["auth"]


def test_a_mac_is_bound_to_its_collection(ring):
    authority.declare(authority.Protected("gadgets", WIDGETS.fields))
    doc = _widget()
    assert authority.verify("gadgets", doc) != []


def test_a_document_with_an_object_id_or_naive_date_verifies_only_unchanged(ring):
    owner = ObjectId()
    doc = _widget(owner=owner, until=datetime(2026, 1, 2, 3, 4, 5))
    assert authority.verify("widgets", doc) == []
    assert authority.verify("widgets", dict(doc, owner=str(owner))) == ["owner"]
    aware = doc["until"].replace(tzinfo=timezone.utc)
    assert authority.verify("widgets", dict(doc, until=aware)) == []
    assert authority.verify("widgets", dict(doc, until=doc["until"].isoformat())) == ["until"]


def test_the_key_rotates_old_documents_still_verify(ring, tmp_path):
    old = _widget()
    old_block = authority.block_mac("ab" * 32)
    rotated = authority.Keyring([bytes(32), KEY, NEW_KEY])
    authority.install(rotated)
    assert authority.verify("widgets", old) == []
    assert authority.block_authentic({"hash": "ab" * 32, "mac": old_block})
    new = _widget()
    assert new["auth"]["kid"] == authority.key_id(NEW_KEY) != old["auth"]["kid"]
    authority.install(authority.Keyring([NEW_KEY]))
    assert authority.verify("widgets", old) == ["auth"]
    assert authority.verify("widgets", new) == []


def test_require_and_authentic_fail_closed_and_log_no_values(ring, caplog):
    doc = _widget()
    assert authority.require("widgets", doc) is doc
    assert authority.authentic("widgets", doc) is doc
    assert authority.require("widgets", None) is None
    assert authority.authentic("widgets", None) is None
    forged = dict(doc, grant={"scope": ["secret-scope"]})
    with caplog.at_level(logging.WARNING, logger=authority.log.name):
        with pytest.raises(authority.Unauthentic) as caught:
            authority.require("widgets", forged)
        assert authority.authentic("widgets", forged) is None
    assert caught.value.status == 403
    assert caught.value.args[0] == ("This record failed its integrity check and cannot be used. "
                                    "An auditor has to look at it.")
    assert [record.getMessage() for record in caplog.records] == \
        ["authority check failed: widgets widget ana field(s) grant.scope"] * 2
    assert "secret-scope" not in caplog.text
    caplog.clear()
    unnamed = authority.Protected("gadgets", ("owner", "until"))
    authority.declare(unnamed)
    gadget = authority.stamp("gadgets", {"owner": "ana", "until": 1})
    with caplog.at_level(logging.WARNING, logger=authority.log.name):
        authority.authentic("gadgets", dict(gadget, owner="eve", until=2))
    assert caplog.records[0].getMessage() == \
        f"authority check failed: gadgets {gadget['_id']} field(s) owner,until"
    with pytest.raises(dataclasses.FrozenInstanceError):
        unnamed.fields = ()


def test_blocks_carry_the_current_key_id_and_a_code_for_their_hash(ring):
    mac = authority.block_mac("ab" * 32)
    assert mac.startswith(ring.current + ":")
    assert authority.block_authentic({"hash": "ab" * 32, "mac": mac})
    assert not authority.block_authentic({"hash": "cd" * 32, "mac": mac})
    assert not authority.block_authentic({"hash": "ab" * 32, "mac": "other:" + mac[17:]})
    assert not authority.block_authentic({"hash": "ab" * 32})
    # the block code is not the MAC of a document field: a separate domain
    assert mac.split(":")[1] != ring.block_code("cd" * 32)


def test_key_files_are_private_and_refuse_a_short_key(tmp_path):
    path = tmp_path / "keys" / "authority.key"
    authority.Keyring.create(str(path))
    assert os.stat(path).st_mode & 0o777 == 0o600
    ring = authority.Keyring.load(str(path))
    assert len(ring.fingerprints()) == 1 == len(ring.keys)
    with pytest.raises(FileExistsError):
        authority.Keyring.create(str(path))
    path.write_text(f"# rotated\n{KEY.hex()}  # old\n\n{NEW_KEY.hex()}\n")
    assert authority.Keyring.load(str(path)).current == authority.key_id(NEW_KEY)
    path.write_text(KEY.hex()[:-2] + "\n")
    with pytest.raises(ValueError, match=r"^\S+authority.key holds a key that is not 32 bytes$"):
        authority.Keyring.load(str(path))
    with pytest.raises(ValueError, match="^an authority keyring needs a key$"):
        authority.Keyring([])


def test_a_key_file_can_be_created_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    authority.Keyring.create("authority.key")
    assert os.listdir(tmp_path) == ["authority.key"]
    assert len(authority.Keyring.load("authority.key").keys) == 1


VECTOR = {"_id": ObjectId("0123456789abcdef01234567"), "text": "Zoë",
          "when": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
          "naive": datetime(2026, 1, 2, 3, 4, 5, 6000),
          "offset": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
          "oid": ObjectId("89abcdef0123456789abcdef"), "nested": {"list": [1, "a"]},
          "obj": {"b": 1, "a": [2, None]}}


def test_macs_keep_their_stored_format(ring):
    """Known answers: every document and block already stored carries MACs of this form, so a
    change to how values are written out (dates, ids, nesting, a missing field, key order) or
    to the key id would make the whole database fail its check."""
    authority.declare(authority.Protected("vectors", (
        "text", "when", "naive", "offset", "oid", "nested.list", "gone", "obj")))
    assert authority.key_id(KEY) == "9b11075c2bc68580"
    seal = authority.seal_of("vectors", VECTOR)
    message = 'medledger-authority\nvectors\n0123456789abcdef01234567\ntext\n"Zoë"'.encode()
    assert seal["fields"]["text"] == hmac.new(KEY, message, hashlib.sha256).hexdigest()[:32]
    assert seal == {
        "kid": "9b11075c2bc68580",
        "mac": "f6e4351ede9bcc319fde498e77a97db7735e0a0004abf81c77be6ad2b69f7303",
        "fields": {"text": "50e666ac7a46cf316aff29605815b590",
                   "when": "3032d3218a7ef0502d6a86d512d2395b",
                   "naive": "2ea0fad97c63437bffe0198815149f6c",
                   "offset": "71e2e38a55a7b8b33f2ef777ee84b610",
                   "oid": "e83f62bf8e960112c69b9a45775152ff",
                   "nested/list": "2728de6247449ac3a964832954164551",
                   "gone": "8178e2f020e1c297897a1d3f85c954a2",
                   "obj": "9320262628670379c804dc8284452011"}}
    assert authority.block_mac("ab" * 32) == ("9b11075c2bc68580:11a0b95b4ad9a123f1556d6b70339084"
                                              "e033f7e586e095d40493b0424b4270b6")


def test_inside_an_app_its_own_keyring_decides(ring):
    app = flask.Flask("keyring-test")
    own = authority.Keyring([NEW_KEY])
    app.extensions["medledger"] = {"authority_keys": own}
    assert authority.keyring() is ring
    assert authority.keyring(app) is own
    with app.app_context():
        assert authority.keyring() is own


def test_a_transition_writes_the_new_state_with_its_mac(widgets):
    doc = _widget()
    widgets.insert_one(doc)
    after = authority.transition(widgets, {"_id": doc["_id"], "owner": "ana"},
                                 {"$set": {"owner": "bo"}, "$push": {"grant.scope": "notes"}})
    assert after["owner"] == "bo" and after["grant"]["scope"] == ["labs", "notes"]
    assert authority.verify("widgets", after) == []
    assert authority.verify("widgets", widgets.find_one({"_id": doc["_id"]})) == []


def test_a_transition_from_a_stale_or_forged_state_writes_nothing(widgets):
    doc = _widget()
    widgets.insert_one(doc)
    assert authority.transition(widgets, {"_id": doc["_id"], "owner": "bo"},
                                {"$set": {"owner": "cy"}}) is None
    assert authority.transition(widgets, {"_id": doc["_id"], "owner": "bo"},
                                {"$set": {"owner": "cy"}}, current=doc) is None
    raced = dict(doc, auth=dict(doc["auth"], mac="0" * 64))  # the MAC read is not the stored
    with pytest.raises(authority.Unauthentic):
        authority.transition(widgets, {"_id": doc["_id"]}, {"$set": {"owner": "cy"}},
                             current=raced)
    widgets.update_one({"_id": doc["_id"]}, {"$set": {"owner": "eve"}})  # outside the app
    with pytest.raises(authority.Unauthentic):
        authority.transition(widgets, {"_id": doc["_id"]}, {"$set": {"owner": "cy"}})
    assert widgets.find_one({"_id": doc["_id"]})["owner"] == "eve"
    assert authority.transition(widgets, {"_id": ObjectId()}, {"$set": {"owner": "cy"}}) is None


def test_a_transition_loses_to_a_write_that_came_between(widgets):
    doc = _widget()
    widgets.insert_one(doc)
    assert authority.transition(widgets, {"_id": doc["_id"]}, {"$set": {"owner": "bo"}})
    assert authority.transition(widgets, {"_id": doc["_id"]}, {"$set": {"owner": "cy"}},
                                current=doc) is None
    assert widgets.find_one({"_id": doc["_id"]})["owner"] == "bo"


def test_a_transition_by_another_key_finds_the_document(widgets):
    doc = _widget(code="W-1")
    widgets.insert_one(doc)
    after = authority.transition_where(widgets, {"code": "W-1"}, {"$set": {"owner": "bo"}})
    assert after["owner"] == "bo" and authority.verify("widgets", after) == []
    assert authority.transition_where(widgets, {"code": "W-2"}, {"$set": {"owner": "x"}}) is None


def test_apply_follows_the_update_operators():
    doc = {"a": {"n": 1, "tags": ["x"]}, "gone": 1, "list": [{"k": 1, "v": 2}, {"k": 2}]}
    after = authority.apply(doc, {
        "$set": {"a.b.c": 5}, "$unset": {"gone": ""}, "$inc": {"a.n": 2, "fresh": 3},
        "$addToSet": {"a.tags": "x", "added": "y"}, "$pull": {"list": {"k": 1}},
        "$setOnInsert": {"never": 1}})
    assert after == {"a": {"n": 3, "tags": ["x"], "b": {"c": 5}}, "fresh": 3, "added": ["y"],
                     "list": [{"k": 2}]}
    assert doc["gone"] == 1 and doc["a"] == {"n": 1, "tags": ["x"]}  # the input is untouched
    assert authority.apply({"t": ["y"]}, {"$addToSet": {"t": "z"}, "$pull": {"u": "q"}}) == \
        {"t": ["y", "z"], "u": []}
    assert authority.apply({"t": ["y", "z"]}, {"$pull": {"t": "y"}}) == {"t": ["z"]}
    with pytest.raises(ValueError, match="^authority.apply does not know \\$rename$"):
        authority.apply(doc, {"$rename": {"a": "b"}})
    mixed = authority.apply({"l": [{"k": 1}, "s", {"k": 2}]}, {"$pull": {"l": {"k": 1}}})
    assert mixed == {"l": ["s", {"k": 2}]}
    assert authority.apply({"l": [{"k": 1}, "s"]}, {"$pull": {"l": "s"}}) == {"l": [{"k": 1}]}
    value = {"x": [1]}
    after = authority.apply({}, {"$set": {"v": value}, "$push": {"p": value}})
    value["x"].append(2)
    assert after == {"v": {"x": [1]}, "p": [{"x": [1]}]}  # what was MAC'd is what is written


def test_undeciding_fields_are_set_without_a_new_mac_and_deciding_ones_refused(widgets):
    doc = _widget()
    widgets.insert_one(doc)
    assert authority.set_undeciding(widgets, doc["_id"], {"note": "search key"})
    stored = widgets.find_one({"_id": doc["_id"]})
    assert stored["note"] == "search key" and stored["auth"] == doc["auth"]
    assert not authority.set_undeciding(widgets, ObjectId(), {"note": "x"})
    for field in ("owner", "grant", "grant.scope.0", "auth", "auth.mac"):
        with pytest.raises(ValueError):
            authority.set_undeciding(widgets, doc["_id"], {field: "x"})
    with pytest.raises(ValueError) as caught:
        authority.set_undeciding(widgets, doc["_id"], {"owner": 1, "note": 2, "grant": 3})
    assert caught.value.args[0] == ("widgets: owner, grant decide(s) who may do what; "
                                    "change them with `transition`")
    assert authority.set_undeciding(widgets, doc["_id"], {"owners": "x", "authors": "y"})


def test_adopt_gives_old_documents_a_mac_and_counts_forged_ones(ring, widgets):
    db = widgets.database
    old = [{"_id": ObjectId(), "owner": "old"}, {"_id": ObjectId(), "owner": "older"}]
    forged = [dict(_widget(), owner="eve"), dict(_widget(), owner="mallory")]
    db.widgets.insert_many(old + [_widget()] + forged)
    counts = authority.adopt(db)
    assert counts.pop("widgets") == (2, 2)
    assert set(counts.values()) <= {(0, 0)}  # the app's own collections, if registered: empty
    assert authority.verify("widgets", db.widgets.find_one({"_id": old[0]["_id"]})) == []
    assert authority.adopt(db)["widgets"] == (0, 2)


def test_no_keyring_outside_an_app_is_an_error(monkeypatch):
    monkeypatch.setattr(authority, "_installed", [])
    with pytest.raises(RuntimeError, match="^no authority keyring: start the app first$"):
        authority.keyring()


def test_a_transition_may_guard_with_operators(widgets):
    doc = _widget()
    widgets.insert_one(doc)
    either = {"_id": doc["_id"], "$or": [{"owner": "ana"}, {"owner": "bo"}]}
    assert authority.transition(widgets, either, {"$set": {"owner": "bo"}})["owner"] == "bo"
    among = {"_id": doc["_id"], "owner": {"$in": ["bo", "cy"]}}
    assert authority.transition(widgets, among, {"$set": {"owner": "cy"}})["owner"] == "cy"
