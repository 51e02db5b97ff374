"""Two-factor changes sealed on the ledger and shown to the account's owner.

- `account.two_factor_enabled`: the person entered a valid code for their pending seed; the
  seed is in force and ten recovery codes are returned once.
- `account.two_factor_reset`: an administrator switched it off for someone who lost their
  phone, with a reason (sealed); a role that requires it enrols again at the next request.
- `account.recovery_code_used`: a recovery code signed the person in (how many are left).
- `account.recovery_codes_regenerated`: new codes (password and a current code asked first).

Each event is a document in `account_events` (as the other account events), written pending
before the change; the `two_factor` document names the event it went through (`last_event`),
which tells reconcile whether to finish or roll back a change a crash interrupted. Neither a
seed nor a code is sealed or logged.
"""
from models.core import clock
from models.core.clock import now_ms
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.people import account_events, two_factor, users
from models.sealing.registry import EventKind
from models.sealing.seam import new_salts, pending_fields, seal_pending
from models.storage import authority

ENABLED = "account.two_factor_enabled"
RESET = "account.two_factor_reset"
RECOVERY_USED = "account.recovery_code_used"
REGENERATED = "account.recovery_codes_regenerated"
KINDS = (ENABLED, RESET, RECOVERY_USED, REGENERATED)
LABELS = {ENABLED: "Two-factor sign-in turned on", RESET: "Two-factor sign-in reset by an "
          "administrator", RECOVERY_USED: "A recovery code was used to sign in",
          REGENERATED: "New recovery codes were made"}
LAST = "last_event"
MIN_REASON = 5
MAX_REASON = 300
WRONG_CODE = "That code is not right (or was already used): enter the current code."


def _record(db, kind, subject, actor, details):
    event = {"kind": kind, "subject_id": subject["human_id"], "by": actor["human_id"],
             "at": now_ms(), "details": details, "sealed_height": None}
    salts = new_salts(account_events.attributes(event))
    event["_id"] = db.account_events.insert_one(pending_fields(event, kind, salts)).inserted_id
    return event, salts


def _change(db, doc, query, update, event, conflict):
    """The change the pending event records, or none and no event (409)."""
    update = dict(update, **{"$set": dict(update.get("$set", {}), **{LAST: event["_id"]})})
    changed = authority.transition(db.two_factor, dict(query, _id=doc["_id"]), update,
                                   current=doc)
    if changed is None:
        db.account_events.delete_one({"_id": event["_id"]})
        raise Conflict(conflict)
    return changed


def _seal(db, event, actor, salts):
    seal_pending(db, event["kind"], event, actor, account_events.attributes(event), salts)


def activate(db, key, user, code, at=None):
    """pending seed → in force, once the person shows a valid code for it; the recovery codes
    (shown once), sealed as `account.two_factor_enabled`."""
    doc = two_factor.state(db, user)
    if doc is None or not doc.get("pending"):
        raise Conflict("Start the set-up again: there is no key waiting for a code.")
    if doc.get("enabled"):
        raise Conflict("Two-factor sign-in is already on for this account.")
    step = two_factor.matched_step(two_factor.seed_of(key, doc, "pending"), code,
                                   at or clock.now())
    if step is None:
        raise InvalidInput(WRONG_CODE, {"code": WRONG_CODE})
    shown, stored = two_factor.new_recovery_codes()
    event, salts = _record(db, ENABLED, user, user, {"role": user["role"]})
    _change(db, doc, {"enabled": False}, {"$set": {
        "enabled": True, "secret": doc["pending"], "pending": None, "codes": stored,
        "last_step": max(step, int(doc.get("last_step") or 0)), "enabled_at": clock.now()}},
        event, "Your two-factor set-up changed in the meantime: start again.")
    _seal(db, event, user, salts)
    return shown


def use_recovery_code(db, user, code):
    """Whether `code` is one of the account's unused recovery codes; it is spent (atomically:
    of two sign-ins with the same code, one wins) and the use sealed."""
    doc = two_factor.state(db, user)
    entry = two_factor.matching_recovery(doc, code)
    if entry is None:
        return False
    event, salts = _record(db, RECOVERY_USED, user, user,
                           {"remaining": two_factor.remaining_codes(doc) - 1})
    try:
        _change(db, doc, {"codes": {"$elemMatch": {"id": entry["id"]}}},
                {"$pull": {"codes": {"id": entry["id"]}}}, event,
                "That recovery code was just used.")
    except Conflict:
        return False
    _seal(db, event, user, salts)
    return True


def regenerate(db, key, user, password, code, at=None):
    """Ten new recovery codes (the old ones stop working), after the password and a current
    code; sealed as `account.recovery_codes_regenerated`."""
    problems = {}
    if not users.check_password(user, password or ""):
        problems["password"] = "That is not your password."
    doc = two_factor.state(db, user)
    if doc is None or not doc.get("enabled"):
        raise Conflict("Two-factor sign-in is not on for this account.")
    if not problems and not two_factor.accept_code(db, key, user, code, at):
        problems["code"] = WRONG_CODE
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    doc = two_factor.state(db, user)
    shown, stored = two_factor.new_recovery_codes()
    event, salts = _record(db, REGENERATED, user, user, {"remaining": len(shown)})
    _change(db, doc, {"enabled": True}, {"$set": {"codes": stored}}, event,
            "Your two-factor settings changed in the meantime: try again.")
    _seal(db, event, user, salts)
    return shown


def reset(db, admin, human_id, reason):
    """An administrator switches two-factor sign-in off for someone else (a lost phone), with
    a reason; sealed as `account.two_factor_reset`."""
    if admin.get("role") != users.ADMIN:
        raise Forbidden("Only administrators reset two-factor sign-in.")
    reason = " ".join((reason or "").split())
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        problem = f"Give the reason in {MIN_REASON} to {MAX_REASON} characters."
        raise InvalidInput(problem, {"reason": problem})
    account = users.by_human_id(db, human_id)
    if account is None:
        raise NotFound("There is no such account.")
    if account["human_id"] == admin["human_id"]:
        raise Forbidden("Another administrator has to reset your own two-factor sign-in.")
    doc = two_factor.state(db, account)
    if doc is None or not (doc.get("enabled") or doc.get("pending")):
        raise Conflict(f"{account['name']} ({account['human_id']}) has no two-factor sign-in.")
    event, salts = _record(db, RESET, account, admin, {"role": account["role"],
                                                       "reason": reason})
    changed = _change(db, doc, {}, {"$set": {"enabled": False, "secret": None, "pending": None,
                                             "codes": []}},
                      event, "That account's two-factor settings changed meanwhile: try again.")
    _seal(db, event, admin, salts)
    return changed


def history(db, user, limit=20):
    """The account's two-factor events, newest first (its security page)."""
    return [dict(event, label=LABELS[event["kind"]])
            for event in account_events.recent(db, user["human_id"], limit=200)
            if event["kind"] in KINDS][:limit]


# Reconcile ---------------------------------------------------------------------------------------

def _sealed(db, data_key, event):
    doc = db.two_factor.find_one({"user_id": event["subject_id"]}, {LAST: 1})
    if doc is None or doc.get(LAST) != event["_id"]:
        return None
    return account_events.attributes(event), event.get("seal_salts") or {}


def _rollback(db, event):
    db.account_events.delete_one({"_id": event["_id"], "sealed_height": None})


def _actor(db, event):
    return users.by_human_id(db, event["by"])


def _event(kind):
    return EventKind(kind, "account_events", "sealed_height", account_events.rebuild,
                     creates_document=True, subject=lambda event: {"account": event["subject_id"]},
                     salts_at="seal_salts", actor=_actor, sealed=_sealed, rollback=_rollback,
                     label=lambda event: f"{event['kind']} {event['subject_id']}")


EVENTS = tuple(_event(kind) for kind in KINDS)
