"""THE access decision: who may read a record version now, and if not, why not.

Deny by default. Besides the patient themself, a reader is allowed only if one of the spec's
three rules holds:
  1. they authored that record version;
  2. an active grant covers it: the grantee is them (or their organization), now is inside
     the grant's period, the record's type is in the grant's scope (or the grant names the
     record), the grant is not revoked, and a one-time grant has not been used;
  3. an emergency access is open for that doctor and that patient.
Authority whose block is still pending (a crash between the change and its block) is not in
force until reconcile seals it.
Pharmacists only ever read prescriptions and lab technicians lab reports, whatever a grant
says; admins and auditors never read clinical data.

`evaluate` is pure (the table-driven tests call it directly); `decide` loads what it needs,
notices expiry (sealing `access.expired` the first time) and consumes a one-time grant
(sealing `access.used`) when a read actually happens.
"""
from dataclasses import dataclass, field

from models.consent import emergency
from models.consent import workflow as consent
from models.core.clock import now_ms
from models.people import users
from models.sealing.seam import is_pending
from models.storage import authority

PATIENT_SELF, AUTHOR, GRANT, EMERGENCY = "patient", "author", "grant", "emergency"
NO_CONSENT, EXPIRED, REVOKED, NOT_IN_SCOPE = "no consent", "expired", "revoked", "not in scope"
USED = "one-time access already used"
NOT_FOR_ROLE = "not available to your role"
UNAUTHENTIC = "failed its integrity check"

READER_ROLES = (users.DOCTOR, users.PHARMACIST, users.LAB_TECH, users.ORG_MANAGER)
ROLE_TYPES = {users.PHARMACIST: ("prescription",), users.LAB_TECH: ("lab_report",)}
ENDED_REASONS = {consent.REVOKED: REVOKED, consent.EXPIRED: EXPIRED, consent.USED: USED}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    grant: dict | None = None
    emergency: dict | None = None

    @property
    def basis(self):
        """How the read was allowed, as shown to the patient and sealed with the read."""
        if self.grant:
            return f"grant {self.grant['grant_id']}"
        if self.emergency:
            return f"emergency {self.emergency['emergency_id']}"
        return self.reason

    @property
    def basis_kind(self):
        return GRANT if self.grant else EMERGENCY if self.emergency else self.reason

    @property
    def basis_id(self):
        if self.grant:
            return self.grant["grant_id"]
        return self.emergency["emergency_id"] if self.emergency else None


@dataclass
class Context:
    """Everything the decision needs about one reader and one patient, loaded once."""
    viewer: dict
    patient_id: str
    now: object
    grants: list = field(default_factory=list)
    emergencies: list = None  # None: not read yet (see `open_emergencies`)
    load_emergencies: object = None

    def open_emergencies(self):
        """Read only when no grant decides (a read under a grant skips the round trip)."""
        if self.emergencies is None:
            self.emergencies = self.load_emergencies() if self.load_emergencies else []
        return self.emergencies


def grantee_ids(viewer):
    """The ids a grant may name to cover this reader: themself and their organization."""
    ids = [viewer["human_id"]]
    if viewer.get("org_id") and viewer["role"] in READER_ROLES:
        ids.append(viewer["org_id"])
    return ids


def load_context(db, viewer, patient_id, now=None):
    now = now or now_ms()
    ctx = Context(viewer=viewer, patient_id=patient_id, now=now)
    if viewer["role"] in READER_ROLES:
        ctx.grants = consent.grants_to(db, grantee_ids(viewer), patient_id=patient_id, now=now)
    if viewer["role"] == users.DOCTOR:
        ctx.load_emergencies = lambda: emergency.open_for(db, viewer["human_id"], patient_id, now)
    return ctx


def _mine(ctx, record):
    """The context's grants that name this reader (or their organization) for this patient."""
    grantees = set(grantee_ids(ctx.viewer))
    return [grant for grant in ctx.grants
            if grant["patient_id"] == record["patient_id"] and grant["grantee_id"] in grantees]


def evaluate(ctx, record):
    """The decision for one record version, without any write."""
    viewer, now = ctx.viewer, ctx.now
    if viewer["role"] == users.PATIENT:
        if record["patient_id"] == viewer["human_id"]:
            return Decision(True, PATIENT_SELF)
        return Decision(False, NO_CONSENT)
    if viewer["role"] not in READER_ROLES:
        return Decision(False, NOT_FOR_ROLE)
    if viewer["role"] in ROLE_TYPES and record["type"] not in ROLE_TYPES[viewer["role"]]:
        return Decision(False, NOT_FOR_ROLE)
    if record["author_id"] == viewer["human_id"]:
        return Decision(True, AUTHOR)
    mine = _mine(ctx, record)
    covering = [grant for grant in mine if consent.scope_covers(grant["scope"], record)]
    active = [grant for grant in covering if consent.is_active(grant, now)]
    if active:
        active.sort(key=lambda grant: (grant["one_time"], -grant["valid_until"].timestamp()))
        return Decision(True, GRANT, grant=active[0])
    for case in ctx.open_emergencies() if viewer["role"] == users.DOCTOR else ():
        if case["doctor_id"] == viewer["human_id"] and case["patient_id"] == record["patient_id"] \
                and case["opened_at"] <= now < case["ends_at"] and not is_pending(case):
            return Decision(True, EMERGENCY, emergency=case)
    return Decision(False, _denial_reason(ctx, mine, covering))


def _denial_reason(ctx, mine, covering):
    if covering:
        latest = max(covering, key=lambda grant: grant["created_at"])
        if latest["state"] == consent.APPROVED:
            return EXPIRED if ctx.now >= latest["valid_until"] else NO_CONSENT
        return ENDED_REASONS.get(latest["state"], NO_CONSENT)
    if any(consent.is_active(grant, ctx.now) for grant in mine):
        return NOT_IN_SCOPE
    return NO_CONSENT


def decide(db, viewer, record, *, now=None, consume=True, ctx=None):
    """The decision for an actual read: a one-time grant is used up by it (sealed once)."""
    ctx = ctx or load_context(db, viewer, record["patient_id"], now)
    decision = evaluate(ctx, record)
    if decision.allowed and consume and decision.grant and decision.grant["one_time"]:
        if not consent.use_once(db, decision.grant, viewer, record["record_id"], ctx.now):
            ctx = load_context(db, viewer, record["patient_id"], ctx.now)
            return evaluate(ctx, record)
    return decision


def evaluate_all(db, viewer, patient_id, records, now=None):
    """Decisions for a list of versions (a patient page): no grant is used up by listing; an
    envelope that fails its authority check is refused whatever it says."""
    ctx = load_context(db, viewer, patient_id, now)
    return ctx, {(doc["record_id"], doc["version"]):
                 evaluate(ctx, doc) if authority.authentic("records", doc) is not None
                 else Decision(False, UNAUTHENTIC) for doc in records}


def active_grant_for_type(db, viewer, patient_id, type_name, now=None):
    """An active grant to the viewer's organization covering a whole record type (lab reports
    written by a lab need one), or None."""
    now = now or now_ms()
    org = viewer.get("org_id")
    for grant in consent.grants_to(db, [org], patient_id=patient_id, now=now):
        if consent.is_active(grant, now) and consent.scope_covers_type(grant["scope"], type_name):
            return grant
    return None
