"""Organizations (hospital, clinic, lab, pharmacy), their managers and their staff.

An account belongs to an organization through `org_id`, which holds the organization's human
id (ORG-0007): readable everywhere and a plain string on the ledger. Managers are accounts
with role ORG_MANAGER; the staff a manager runs are doctors, pharmacists and lab technicians.
A manager only ever reaches staff through a query that includes its own `org_id`.
"""
import unicodedata

import pymongo

from models.core import clock, ids, specialties
from models.core.errors import Conflict, InvalidInput, NotFound
from models.storage import authority
from models.storage.authority import transition_where
from models.people import accounts, users

HOSPITAL, CLINIC, LAB, PHARMACY, RESEARCH = "hospital", "clinic", "lab", "pharmacy", "research"
KINDS = (HOSPITAL, CLINIC, LAB, PHARMACY, RESEARCH)
CARE_KINDS = (HOSPITAL, CLINIC, LAB, PHARMACY)
"""Organizations a patient may share records with or be asked by; a research organization
receives only de-identified exports of the approved studies patients opted into."""
KIND_LABELS = {HOSPITAL: "Hospital", CLINIC: "Clinic", LAB: "Laboratory", PHARMACY: "Pharmacy",
               RESEARCH: "Research organization"}
MEMBER_ROLES = (users.DOCTOR, users.PHARMACIST, users.LAB_TECH, users.FRONT_DESK,
                users.RESEARCHER)
ROLES_BY_KIND = {HOSPITAL: (users.DOCTOR, users.FRONT_DESK, users.RESEARCHER),
                 CLINIC: (users.DOCTOR, users.FRONT_DESK),
                 LAB: (users.LAB_TECH,), PHARMACY: (users.PHARMACIST,),
                 RESEARCH: (users.RESEARCHER,)}
"""Who an organization of each kind employs (the spec's people): hospitals and clinics their
doctors and their front desk (who book appointments, check patients in and, in a hospital,
admit them; the front desk reads no clinical record), a pharmacy its pharmacists (who see the
prescriptions shared with the pharmacy), a lab its technicians (who attach reports for
patients who granted the lab), a research organization (and a hospital's research office) its
researchers (who register studies and receive de-identified exports; they read no record)."""
STAFF_PLURALS = {users.DOCTOR: "doctors", users.PHARMACIST: "pharmacists",
                 users.LAB_TECH: "lab technicians", users.FRONT_DESK: "front desk staff",
                 users.RESEARCHER: "researchers"}
MAX_NAME_LENGTH = 120
LIST_LIMIT = 1000

INDEXES = {
    "organizations": [
        ([("human_id", 1)], {"unique": True}),
        ([("name_key", 1)], {"unique": True}),
    ],
}


AUTHORITY = (authority.Protected("organizations", ("human_id", "kind", "active", "name_key"),
                                 name=lambda org: org.get("human_id")),)


def name_key(name):
    """Names compare without case or spacing differences, so a hospital is not created twice."""
    return " ".join(unicodedata.normalize("NFKC", name or "").casefold().split())


def clean(name, kind):
    """(name, kind) ready to store; InvalidInput with one message per bad field."""
    errors = {}
    text = " ".join(unicodedata.normalize("NFC", name or "").split())
    if len(text) < 3:
        errors["name"] = "Enter the organization's name (at least 3 characters)."
    elif len(text) > MAX_NAME_LENGTH:
        errors["name"] = f"Use at most {MAX_NAME_LENGTH} characters."
    elif any(unicodedata.category(ch).startswith("C") for ch in text):
        errors["name"] = "The name contains control characters."
    if kind not in KINDS:
        errors["kind"] = "Choose hospital, clinic, lab, pharmacy or research organization."
    if errors:
        raise InvalidInput("Check the organization's details.", errors)
    return text, kind


def get(db, human_id):
    """The organization, if it is authentic (a forged one decides nothing: None, logged)."""
    return authority.authentic("organizations", db.organizations.find_one(
        {"human_id": (human_id or "").strip().upper()}))


def require(db, human_id):
    org = get(db, human_id)
    if org is None:
        raise NotFound("There is no such organization.")
    return org


def by_name(db, name):
    return db.organizations.find_one({"name_key": name_key(name)})


def list_all(db):
    """Every organization, by human id (a small collection: tens to hundreds)."""
    return sorted(db.organizations.find({}, limit=LIST_LIMIT), key=lambda org: org["human_id"])


def by_human_ids(db, human_ids):
    wanted = sorted(set(filter(None, human_ids)))
    if not wanted:
        return {}
    return {org["human_id"]: org for org in db.organizations.find({"human_id": {"$in": wanted}})}


def create(db, *, name, kind, created_by=None):
    name, kind = clean(name, kind)
    if by_name(db, name):
        raise Conflict("An organization with that name exists.",
                       {"name": "An organization with that name exists."})
    org = {
        "human_id": ids.next_id(db, "organization"),
        "name": name,
        "name_key": name_key(name),
        "kind": kind,
        "active": True,
        "created_at": clock.now(),
        "created_by": created_by,
    }
    try:
        db.organizations.insert_one(authority.stamp("organizations", org))
    except pymongo.errors.DuplicateKeyError:
        raise Conflict("An organization with that name exists.",
                       {"name": "An organization with that name exists."}) from None
    return org


def create_with_manager(db, *, name, kind, manager_name, manager_username, rounds,
                        created_by=None):
    """(organization, manager, setup code), or nothing at all.

    Everything is validated before the first write; if the manager's insert still fails (a
    username taken in the meantime) the organization is removed again.
    """
    invalid, taken = {}, {}
    try:
        clean(name, kind)
    except InvalidInput as exc:
        invalid.update(exc.field_errors)
    manager = accounts.check_fields((("manager_name", accounts.clean_name, manager_name),
                                     ("manager_username", accounts.clean_username,
                                      manager_username)), invalid)
    if "name" not in invalid and by_name(db, name):
        taken["name"] = "An organization with that name exists."
    taken.update(accounts.taken_username(db, manager.get("manager_username"),
                                         field="manager_username"))
    accounts.refuse(invalid, taken)
    org = create(db, name=name, kind=kind, created_by=created_by)
    try:
        account, code = accounts.create_with_setup_code(
            db, rounds=rounds, username=manager["manager_username"], role=users.ORG_MANAGER,
            name=manager["manager_name"], org_id=org["human_id"], created_by=created_by)
    except Conflict as exc:  # taken in the meantime: the message belongs on the manager's field
        db.organizations.delete_one({"_id": org["_id"]})
        raise Conflict(exc.message, {"manager_username": exc.message}) from None
    except Exception:
        db.organizations.delete_one({"_id": org["_id"]})
        raise
    return org, account, code


def managers(db, org_human_ids):
    """Managers of the given organizations, grouped by organization."""
    grouped = {}
    found = db.users.find({"org_id": {"$in": list(org_human_ids)}, "role": users.ORG_MANAGER},
                          {"password_hash": 0}, limit=LIST_LIMIT)
    for account in found:
        grouped.setdefault(account["org_id"], []).append(account)
    return grouped


def members(db, org_human_id):
    """An organization's doctors, pharmacists and lab technicians, by human id."""
    found = db.users.find({"org_id": org_human_id, "role": {"$in": list(MEMBER_ROLES)}},
                          {"password_hash": 0}, limit=LIST_LIMIT)
    return sorted(found, key=lambda account: account["human_id"])


def shares_records(org):
    """Whether records may be shared with (or requested by) this organization."""
    return org.get("kind") in CARE_KINDS


def member_roles(org):
    """The staff roles this organization's kind allows (see ROLES_BY_KIND)."""
    return ROLES_BY_KIND.get(org.get("kind"), ())


def role_problem(org, role):
    """Why `role` cannot join this organization's staff, or None."""
    allowed = member_roles(org)
    if role in allowed:
        return None
    plurals = [STAFF_PLURALS[each] for each in allowed]
    names = " or ".join(filter(None, (", ".join(plurals[:-1]), plurals[-1]))) if plurals \
        else "nobody"
    kind = KIND_LABELS.get(org.get("kind"), "organization").lower()
    if role in MEMBER_ROLES:
        return (f"A {kind} cannot employ a {users.ROLE_LABELS[role].lower()}: "
                f"its staff are {names}.")
    return f"Choose {names}."


def add_member(db, org, *, role, name, username, rounds, created_by=None, specialty=None):
    """(account, setup code) for a new member of `org`, in a role its kind allows (a
    hospital's doctor, a pharmacy's pharmacist, a lab's technician).

    A doctor starts unverified: the guard keeps them on the verification page until an
    admin approved their licence. A doctor's specialty (optional) is what patients find them
    by when they share their records.
    """
    if not org.get("active", True):
        raise Conflict("This organization is disabled.")
    problem = role_problem(org, role)
    invalid = {"role": problem} if problem else {}
    specialty = (specialty or "").strip() or None
    if specialty and (role != users.DOCTOR or specialty not in specialties.LABELS):
        invalid["specialty"] = ("Choose a specialty from the list (doctors only)."
                                if role == users.DOCTOR else "Only doctors have a specialty.")
    cleaned = accounts.check_fields((("name", accounts.clean_name, name),
                                     ("username", accounts.clean_username, username)), invalid)
    accounts.refuse(invalid, accounts.taken_username(db, cleaned.get("username")))
    return accounts.create_with_setup_code(
        db, rounds=rounds, username=cleaned["username"], role=role, name=cleaned["name"],
        org_id=org["human_id"], verified=False, created_by=created_by,
        profile={"specialty": specialty} if specialty else None)


def count(db):
    """How many organizations exist (an estimate; the collection is small)."""
    return db.organizations.estimated_document_count()
