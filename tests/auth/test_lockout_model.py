"""Password check and lock-out through the model, at their edges (mutation testing:
scripts/mutation accounts): the failure that locks, how long, a lock that ends to the second,
a second factor still to come, a counter changed by another attempt meanwhile, and the
signed-in person as Flask-Login sees them."""
from datetime import timedelta

import pytest
from bson import ObjectId

from models.core import clock
from models.core.errors import Conflict, InvalidInput, NotFound
from models.people import accounts, users
from models.storage import authority
from models.storage.db import get_db
from tests.conftest import PASSWORD

WRONG = "not the password!"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield get_db()


def _account(db, role=users.PATIENT, username="pat.lock", **fields):
    return users.create_user(db, username=username, role=role, name="Pat Lock",
                             password=PASSWORD, rounds=4, **fields)


def _login(db, password, **options):
    return users.authenticate(db, "pat.lock", password, threshold=3, lock_minutes=7, rounds=4,
                              **options)


def _stored(db, account):
    return db.users.find_one({"_id": account["_id"]})


def test_the_failure_that_reaches_the_threshold_locks_for_the_set_minutes(ctx):
    account = _account(ctx)
    first, second = _login(ctx, WRONG), _login(ctx, WRONG)
    assert (first.locked, second.locked) == (False, False)
    assert _stored(ctx, account)["failed_logins"] == 2
    before = clock.now()
    third = _login(ctx, WRONG)
    after = clock.now()
    stored = _stored(ctx, account)
    assert third.locked and third.error == users.REFUSED and third.user is None
    assert stored["failed_logins"] == 0
    until = stored["locked_until"]
    assert before + timedelta(minutes=7) - timedelta(milliseconds=1) <= until
    assert until <= after + timedelta(minutes=7)
    refused = _login(ctx, PASSWORD)  # the right password while locked
    assert (refused.user, refused.error, refused.locked) == (None, users.REFUSED, True)
    assert _stored(ctx, account)["failed_logins"] == 0


def test_a_lock_ends_at_its_instant():
    until = clock.now()
    locked = {"locked_until": until}
    assert users.is_locked(locked, at=until - timedelta(seconds=1))
    assert not users.is_locked(locked, at=until)
    assert not users.is_locked({"locked_until": None})
    assert not users.is_locked({})
    assert users.is_locked({"locked_until": clock.now() + timedelta(minutes=1)})


def test_the_right_password_signs_in_and_clears_the_count(ctx):
    account = _account(ctx)
    _login(ctx, WRONG)
    result = _login(ctx, PASSWORD)
    assert result.user["_id"] == account["_id"] and result.error is None
    assert not result.locked and not result.held
    stored = _stored(ctx, account)
    assert stored["failed_logins"] == 0 and stored["last_login"] is not None


def test_a_second_factor_still_to_come_leaves_the_count(ctx):
    account = _account(ctx)
    _login(ctx, WRONG)
    held = _login(ctx, PASSWORD, hold=lambda user: True)
    assert held.held and held.user["_id"] == account["_id"]
    assert _stored(ctx, account)["failed_logins"] == 1
    assert not _login(ctx, PASSWORD, hold=lambda user: False).held
    assert _stored(ctx, account)["failed_logins"] == 0


def test_unknown_and_disabled_accounts(ctx):
    account = _account(ctx)
    unknown = users.authenticate(ctx, "nobody", PASSWORD, rounds=4)
    assert (unknown.user, unknown.error, unknown.locked) == (None, users.REFUSED, False)
    users.set_active(ctx, account["_id"], 0)
    assert _stored(ctx, account)["active"] is False
    assert _login(ctx, PASSWORD).error == "This account is disabled."
    assert _login(ctx, WRONG).error == users.REFUSED
    assert _stored(ctx, account)["failed_logins"] == 1


def test_a_failure_counted_meanwhile_by_another_attempt_is_kept(ctx):
    account = _account(ctx)
    stale = _stored(ctx, account)
    _login(ctx, WRONG)  # another attempt, after `stale` was read
    assert not users.count_failure(ctx, stale, 3, 7)
    assert _stored(ctx, account)["failed_logins"] == 2
    assert users.count_failure(ctx, stale, 3, 7)  # the third: locks
    assert users.is_locked(_stored(ctx, account))
    assert not users.count_failure(ctx, stale, 3, 7)  # already locked: nothing to count
    assert _stored(ctx, account)["failed_logins"] == 0


def test_unlock_and_the_locked_list(ctx):
    account = _account(ctx)
    for _ in range(3):
        _login(ctx, WRONG)
    other = _account(ctx, username="pat.other")
    lock = {"locked_until": clock.now() + timedelta(minutes=1), "failed_logins": 2}
    authority.transition(ctx.users, {"_id": other["_id"]}, {"$set": lock})
    listed = accounts.locked(ctx)
    assert [doc["_id"] for doc in listed] == [other["_id"], account["_id"]]
    assert all("password_hash" not in doc for doc in listed)
    later = clock.now() + timedelta(minutes=2)
    assert [doc["_id"] for doc in accounts.locked(ctx, at=later)] == [account["_id"]]
    freed = accounts.unlock(ctx, account["human_id"])
    assert freed["locked_until"] is None and freed["failed_logins"] == 0
    with pytest.raises(Conflict):
        accounts.unlock(ctx, account["human_id"])
    with pytest.raises(NotFound):
        accounts.unlock(ctx, "PAT-999999")
    with pytest.raises(Conflict):
        accounts.unlock(ctx, other["human_id"], at=later)  # its lock is over by then
    assert users.unlock(ctx, other["_id"]) and not users.unlock(ctx, ObjectId())
    assert _stored(ctx, other)["failed_logins"] == 0


def test_set_password_checks_and_writes(ctx):
    account = _account(ctx, must_set_password=True)
    with pytest.raises(InvalidInput):
        users.set_password(ctx, account, "short", 4)
    changed = users.set_password(ctx, _stored(ctx, account), "a much better secret", 4,
                                 confirm="a much better secret")
    assert changed["must_set_password"] is False
    assert users.check_password(changed, "a much better secret")
    assert not users.check_password(changed, PASSWORD)
    with pytest.raises(Conflict):
        users.set_password(ctx, dict(account, _id="gone"), "another good secret", 4)


def test_the_signed_in_person_as_flask_login_sees_them(app, ctx):
    doctor = _account(ctx, role=users.DOCTOR, username="dr.view", verified=False)
    user = users.User(doctor)
    assert user.get_id() == str(doctor["_id"]) and user.id == doctor["_id"]
    assert user.is_authenticated and user.is_active and not user.is_anonymous
    assert user.role_label == users.ROLE_LABELS[users.DOCTOR]
    assert user.username == "dr.view"
    with pytest.raises(AttributeError):
        user.no_such_field
    assert user.needs_verification and not user.must_set_password
    verified = users.User(dict(doctor, verification={"state": "verified"}))
    assert not verified.needs_verification
    pending = dict(doctor, verification={"state": "verified"},
                   pending_seals=[{"kind": "doctor.verified"}])
    assert users.User(pending).needs_verification
    patient = users.User(dict(doctor, role=users.PATIENT, must_set_password=1, active=0))
    assert not patient.needs_verification and patient.must_set_password is True
    assert patient.is_active is False
    assert users.User({k: v for k, v in doctor.items() if k != "active"}).is_active is True


def test_a_password_is_checked_by_its_bytes_and_only_against_a_hash():
    """bcrypt reads 72 bytes: a longer password is refused rather than cut or crashed on, and
    an account with no password yet (a setup code) matches no password at all."""
    longest = "é" * 36  # 72 bytes
    user = {"password_hash": users.hash_password(longest, 4)}
    assert users.check_password(user, longest)
    assert not users.check_password(user, longest + "e")
    assert not users.check_password({"password_hash": None}, PASSWORD)
    assert not users.check_password({}, PASSWORD)


def test_by_default_the_fifth_failure_locks_for_fifteen_minutes(ctx):
    account = _account(ctx)
    results = [users.authenticate(ctx, "pat.lock", WRONG) for _ in range(5)]
    assert [result.locked for result in results] == [False] * 4 + [True]
    until = _stored(ctx, account)["locked_until"]
    assert timedelta(minutes=14, seconds=59) < until - clock.now() <= timedelta(minutes=15)


def test_an_unknown_username_costs_the_same_bcrypt_check_as_a_wrong_password(ctx, monkeypatch):
    """Timing must not tell a stranger which usernames exist: one bcrypt check either way."""
    _account(ctx)
    checks = []
    real = users.bcrypt.checkpw
    monkeypatch.setattr(users.bcrypt, "checkpw",
                        lambda password, hashed: checks.append(hashed) or real(password, hashed))
    assert users.authenticate(ctx, "nobody", PASSWORD, rounds=4).error == users.REFUSED
    assert _login(ctx, WRONG).error == users.REFUSED
    assert len(checks) == 2 and checks[0] != checks[1]
    assert checks[0].startswith(b"$2b$04$")  # the decoy, at the configured cost


def test_a_sign_in_after_an_ended_lock_clears_it(ctx, monkeypatch):
    account = _account(ctx)
    for _ in range(3):
        _login(ctx, WRONG)
    until = _stored(ctx, account)["locked_until"]
    monkeypatch.setattr(clock, "now", lambda: until + timedelta(seconds=1))
    assert _login(ctx, PASSWORD).user["_id"] == account["_id"]
    stored = _stored(ctx, account)
    assert stored["locked_until"] is None and stored["failed_logins"] == 0


def test_a_failure_that_cannot_be_written_claims_no_lock(ctx, monkeypatch):
    """Every compare-and-set lost (the account changing under each attempt): the answer is
    "not locked", never a lock that was not written."""
    account = _account(ctx)
    monkeypatch.setattr(users.authority, "transition", lambda *args, **kwargs: None)
    assert users.count_failure(ctx, _stored(ctx, account), 1, 7) is False
    assert not users.is_locked(_stored(ctx, account))


def test_a_password_change_that_loses_to_another_change_says_so(ctx, monkeypatch):
    account = _account(ctx)
    monkeypatch.setattr(users.authority, "transition", lambda *args, **kwargs: None)
    with pytest.raises(Conflict) as caught:
        users.set_password(ctx, _stored(ctx, account), "a new long passphrase", 4)
    assert str(caught.value) == "Your account changed in the meantime; sign in again."


def test_set_active_tells_whether_an_account_was_changed(ctx):
    account = _account(ctx)
    assert users.set_active(ctx, account["_id"], False) is True
    assert _stored(ctx, account)["active"] is False
    assert users.set_active(ctx, ObjectId(), True) is False


def test_an_unlock_clears_the_count_and_refusals_say_why(ctx):
    account = _account(ctx)
    lock = {"locked_until": clock.now() + timedelta(minutes=1), "failed_logins": 2}
    authority.transition(ctx.users, {"_id": account["_id"]}, {"$set": lock})
    freed = accounts.unlock(ctx, account["human_id"])
    assert (freed["locked_until"], freed["failed_logins"]) == (None, 0)
    with pytest.raises(Conflict) as twice:
        accounts.unlock(ctx, account["human_id"])
    with pytest.raises(NotFound) as nobody:
        accounts.unlock(ctx, "PAT-999999")
    assert str(twice.value) == "That account is not locked."
    assert str(nobody.value) == "There is no such account."
