"""Disabling and re-enabling accounts and organizations, and a new setup code for a forgotten
password: each sealed on the ledger.

Each event is a document of its own in `account_events` (one per block, as a read has its
entry), written with its pending marker before the change, so that the audit can rebuild
every block and reconcile can finish or roll back a change a crash interrupted:

- `account.disabled`: an account can no longer sign in (an admin, never their own; a manager
  for their own staff).
- `organization.disabled`: the organization and every account of it still active, named in
  the block and marked `disabled_with_org` (an admin).
- `account.enabled`: a disabled account signs in again (an admin; a manager for their own
  staff). Not while its organization is disabled: the organization comes back first.
- `organization.enabled`: the organization, and exactly the accounts its disabling switched
  off (`disabled_with_org`); an account disabled on its own before stays disabled.
- `account.setup_code_reissued`: a new one-time setup code replaces the password (an admin for
  anyone but themselves; a manager for their own staff). The old password stops working at
  once and the person must choose a new one at their next sign-in, as with a new account. The
  code is returned once to be shown; neither it nor its hash is sealed or logged.

The account and organization documents change through `authority.transition`, so their
authority codes stay valid, as for a disable.
"""
from models.core import clock
from models.core.clock import now_ms, ts
from models.core.errors import Conflict, Forbidden, NotFound
from models.people import accounts, organizations, users
from models.sealing import registry
from models.sealing.registry import EventKind
from models.sealing.seam import new_salts, pending_fields, seal_pending
from models.storage import authority

ACCOUNT_ENABLED, ORGANIZATION_ENABLED = "account.enabled", "organization.enabled"
ACCOUNT_DISABLED, ORGANIZATION_DISABLED = "account.disabled", "organization.disabled"
CODE_REISSUED = "account.setup_code_reissued"
ACCOUNT_KINDS = (ACCOUNT_ENABLED, ACCOUNT_DISABLED, CODE_REISSUED)
ORGANIZATION_KINDS = (ORGANIZATION_ENABLED, ORGANIZATION_DISABLED)

LAST = "last_account_event"
"""On the account or organization: the event its latest such change went through."""

INDEXES = {"account_events": [([("subject_id", 1)], {})]}
"""The sealing heights' indexes come from the registry (EVENTS, at the end)."""

_REENABLED = {"$set": {"active": True},
              "$unset": {"disabled_at": "", "disabled_by": "", "disabled_with_org": ""}}


# Who may act on whom ---------------------------------------------------------------------------

def _target(db, human_id, actor):
    """The account `actor` may act on: an admin any account, a manager only their own
    organization's staff (anyone else's is simply not found)."""
    human_id = (human_id or "").strip().upper()
    if actor["role"] == users.ADMIN:
        account = db.users.find_one({"human_id": human_id})
    elif actor["role"] == users.ORG_MANAGER and actor.get("org_id"):
        account = db.users.find_one({"human_id": human_id, "org_id": actor["org_id"],
                                     "role": {"$in": list(organizations.MEMBER_ROLES)}})
    else:
        raise Forbidden("Only administrators and organization managers do this.")
    if account is None:
        raise NotFound("There is no such account." if actor["role"] == users.ADMIN
                       else "There is no such member of your organization.")
    return account


# The events ------------------------------------------------------------------------------------

def _record(db, kind, subject_id, actor, details):
    """The event's document, pending until its block is appended: (document, salts)."""
    event = {"kind": kind, "subject_id": subject_id, "by": actor["human_id"], "at": now_ms(),
             "details": details, "sealed_height": None}
    salts = new_salts(attributes(event))
    event["_id"] = db.account_events.insert_one(pending_fields(event, kind, salts)).inserted_id
    return event, salts


def _apply(db, collection, query, update, event, conflict):
    """The change the pending event records, or, when the document changed in the meantime,
    no change and no event (a 409 saying `conflict`)."""
    changed = authority.transition(collection, query, update)
    if changed is None:
        db.account_events.delete_one({"_id": event["_id"]})
        raise Conflict(conflict)
    return changed


def _seal(db, event, actor, salts):
    seal_pending(db, event["kind"], event, actor, attributes(event), salts)
    return event


def disable_account(db, human_id, actor):
    """active → disabled (it can no longer sign in), sealed as `account.disabled`."""
    account = _target(db, human_id, actor)
    if account["human_id"] == actor["human_id"]:
        raise Forbidden("You cannot disable your own account.")
    if not account.get("active", True):
        raise Conflict("That account is already disabled.")
    event, salts = _record(db, ACCOUNT_DISABLED, account["human_id"], actor,
                           {"role": account["role"], "organization": account.get("org_id")})
    disabled = _apply(db, db.users, {"_id": account["_id"], "active": True}, {"$set": {
        "active": False, "disabled_at": clock.now(), "disabled_by": actor["human_id"],
        LAST: event["_id"]}}, event, "That account is already disabled.")
    _seal(db, event, actor, salts)
    return disabled


def disable_organization(db, org_id, admin):
    """active → disabled, with every account of it still active (marked `disabled_with_org`,
    so re-enabling restores exactly them), sealed as `organization.disabled` naming them."""
    if admin["role"] != users.ADMIN:
        raise Forbidden("Only administrators disable an organization.")
    org = organizations.require(db, org_id)
    if not org.get("active", True):
        raise Conflict("That organization is already disabled.")
    members = sorted(account["human_id"] for account in db.users.find(
        {"org_id": org["human_id"], "active": True}, {"human_id": 1}))
    event, salts = _record(db, ORGANIZATION_DISABLED, org["human_id"], admin,
                           {"accounts": members})
    disabled = _apply(db, db.organizations, {"_id": org["_id"], "active": True}, {"$set": {
        "active": False, "disabled_at": clock.now(), "disabled_by": admin["human_id"],
        LAST: event["_id"]}}, event, "That organization is already disabled.")
    for human_id in members:
        authority.transition(db.users, {"human_id": human_id, "org_id": org["human_id"],
                                        "active": True},
                             {"$set": {"active": False, "disabled_with_org": True}})
    _seal(db, event, admin, salts)
    return disabled, members


def enable_account(db, human_id, actor):
    """disabled → active, sealed as `account.enabled`."""
    account = _target(db, human_id, actor)
    if account.get("active"):
        raise Conflict(f"{account['name']} ({account['human_id']}) is not disabled.")
    org = organizations.get(db, account["org_id"]) if account.get("org_id") else None
    if org is not None and not org.get("active", True):
        raise Conflict(f"{account['name']} belongs to {org['name']} ({org['human_id']}), which "
                       "is disabled: re-enable the organization first.")
    event, salts = _record(db, ACCOUNT_ENABLED, account["human_id"], actor,
                           {"role": account["role"], "organization": account.get("org_id")})
    enabled = _apply(db, db.users, {"_id": account["_id"], "active": False},
                     dict(_REENABLED, **{"$set": {"active": True, "enabled_at": clock.now(),
                                                  "enabled_by": actor["human_id"],
                                                  LAST: event["_id"]}}),
                     event, "That account changed in the meantime (already enabled?): nothing "
                            "was done.")
    _seal(db, event, actor, salts)
    return enabled


def enable_organization(db, org_id, admin):
    """disabled → active, with exactly the accounts its disabling switched off, sealed as
    `organization.enabled` naming them."""
    if admin["role"] != users.ADMIN:
        raise Forbidden("Only administrators re-enable an organization.")
    org = organizations.require(db, org_id)
    if org.get("active", True):
        raise Conflict(f"{org['name']} ({org['human_id']}) is not disabled.")
    restored = sorted(account["human_id"] for account in db.users.find(
        {"org_id": org["human_id"], "active": False, "disabled_with_org": True}, {"human_id": 1}))
    event, salts = _record(db, ORGANIZATION_ENABLED, org["human_id"], admin,
                           {"accounts": restored})
    enabled = _apply(db, db.organizations, {"_id": org["_id"], "active": False}, {
        "$set": {"active": True, "enabled_at": clock.now(), "enabled_by": admin["human_id"],
                 LAST: event["_id"]},
        "$unset": {"disabled_at": "", "disabled_by": ""}},
        event, "That organization changed in the meantime: nothing was done.")
    for human_id in restored:
        authority.transition(db.users, {"human_id": human_id, "org_id": org["human_id"],
                                        "active": False, "disabled_with_org": True}, _REENABLED)
    _seal(db, event, admin, salts)
    return enabled, restored


def reissue_setup_code(db, human_id, actor, rounds):
    """(account, code): a new one-time setup code replaces the password, sealed as
    `account.setup_code_reissued` (without the code)."""
    account = _target(db, human_id, actor)
    if account["human_id"] == actor["human_id"]:
        raise Forbidden("You cannot reset your own password this way: use Change password.")
    code = accounts.new_setup_code()
    event, salts = _record(db, CODE_REISSUED, account["human_id"], actor,
                           {"role": account["role"], "organization": account.get("org_id")})
    changed = _apply(db, db.users, {"_id": account["_id"]}, {"$set": {
        "password_hash": users.hash_password(code, rounds), "must_set_password": True,
        "failed_logins": 0, "locked_until": None, LAST: event["_id"]}},
        event, "That account changed in the meantime: no code was issued.")
    _seal(db, event, actor, salts)
    return changed, code


def recent(db, subject_id, limit=20):
    """The latest events about one account or organization, newest first."""
    found = db.account_events.find({"subject_id": subject_id}, limit=200)
    return sorted(found, key=lambda event: event["at"], reverse=True)[:limit]


# What the ledger seals, and how the audit and reconcile find it again -------------------------

def attributes(event):
    """No secret and no clinical value: who, what, by whom, when (and whom it restored)."""
    return dict({"subject": event["subject_id"], "by": event["by"], "at": ts(event["at"])},
                **event["details"])


def rebuild(db, block, data_key, prefetched=None):
    height = block.get("height")
    event = registry.take(prefetched, block,
                          lambda doc: registry.same(doc.get("sealed_height"), height))
    if event is None:
        event = db.account_events.find_one({"sealed_height": height})
    if event is None or event.get("kind") != block.get("kind"):
        return None
    return attributes(event), event.get("seal_salts") or {}


def coverage(db):
    for event in db.account_events.find({}, {"sealed_height": 1, "kind": 1, "subject_id": 1}):
        yield "account_events", f"{event['kind']} {event['subject_id']}", event.get("sealed_height")


def _changed(db, event):
    """Whether the change the event names took place (reconcile seals it) or not (rolls back):
    the changed document names the event it went through."""
    collection = db.organizations if event["kind"] in ORGANIZATION_KINDS else db.users
    changed = collection.find_one({"human_id": event["subject_id"]}, {LAST: 1})
    return changed is not None and changed.get(LAST) == event["_id"]


def _sealed(db, data_key, event):
    return (attributes(event), event.get("seal_salts") or {}) if _changed(db, event) else None


def _rollback(db, event):
    db.account_events.delete_one({"_id": event["_id"], "sealed_height": None})


def _actor(db, event):
    return users.by_human_id(db, event["by"])


def _event(kind, subject_name):
    return EventKind(kind, "account_events", "sealed_height", rebuild, creates_document=True,
                     subject=lambda event: {subject_name: event["subject_id"]},
                     salts_at="seal_salts", actor=_actor, sealed=_sealed, rollback=_rollback,
                     label=lambda event: f"{event['kind']} {event['subject_id']}")


EVENTS = (_event(ACCOUNT_DISABLED, "account"), _event(ORGANIZATION_DISABLED, "organization"),
          _event(ACCOUNT_ENABLED, "account"), _event(ORGANIZATION_ENABLED, "organization"),
          _event(CODE_REISSUED, "account"))
COVERAGE = (coverage,)
