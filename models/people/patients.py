"""Patient registration: the rules for a patient's details, and the two ways in.

A patient registers themselves (choosing a password), or a manager registers them at the
front desk (the patient gets a one-time setup code and sets their own password at first
login). Both paths validate every field first and write one account document, or nothing.
"""
import re
import secrets
from datetime import date, timedelta

import email_validator

from models.core import clock, ids, names
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.storage import authority
from models.people import accounts, organizations, users

SEXES = ("female", "male", "other", "unknown")
SEX_LABELS = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"}
OLDEST_AGE_YEARS = 130
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-]*$")
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 6, 15
MAX_EMAIL_LENGTH = 254
MAX_PHONE_LENGTH = 40
MAX_POSTCODE_LENGTH = 10
POSTCODE_RE = re.compile(r"^[0-9A-Z][0-9A-Z -]*$")
SAME_BIRTH_DATE_LIMIT = 200
CARD_FIELDS = {"human_id": 1, "name": 1, "role": 1, "active": 1, "profile.date_of_birth": 1,
               "profile.sex": 1}
"""What identifies a patient to staff (banner, search results): never contact details."""


class PossibleDuplicate(Conflict):
    """A patient with the same name and date of birth exists: staff confirm before a second
    account is opened for what may be the same person."""

    def __init__(self, matches):
        problem = ("A patient with this name and date of birth is already registered. Check "
                   "that this is a different person before registering again.")
        super().__init__(problem, {"confirm_new_person": problem})
        self.matches = matches


def clean(*, name, username, date_of_birth, sex, email=None, phone=None, postcode=None,
          today=None):
    """The cleaned details as a dict, or InvalidInput listing every bad field at once."""
    errors = {}
    cleaned = check(errors, name=name, username=username, date_of_birth=date_of_birth, sex=sex,
                    email=email, phone=phone, postcode=postcode, today=today)
    accounts.refuse(errors)
    return cleaned


def check(errors, *, name, username, date_of_birth, sex, email=None, phone=None, postcode=None,
          today=None):
    """The details that are clean; every problem (each field, and "neither e-mail nor phone")
    goes into `errors` in the same pass."""
    cleaned = accounts.check_fields((
        ("name", accounts.clean_name, name),
        ("username", accounts.clean_username, username),
        ("date_of_birth", lambda value: _clean_birth_date(value, today), date_of_birth),
        ("sex", _clean_sex, sex),
        ("email", clean_email, email),
        ("phone", _clean_phone, phone),
        ("postcode", clean_postcode, postcode),
    ), errors)
    if "email" in cleaned and "phone" in cleaned and not cleaned["email"] and not cleaned["phone"]:
        problem = "Give an e-mail address or a phone number."
        errors.update({"email": problem, "phone": problem})
    return cleaned


def _clean_birth_date(value, today=None):
    today = today or date.today()
    if isinstance(value, date):
        born = value
    else:
        try:
            born = date.fromisoformat((value or "").strip())
        except ValueError:
            raise InvalidInput("Enter the date of birth as YYYY-MM-DD.") from None
    if born > today:
        raise InvalidInput("The date of birth cannot be in the future.")
    if born < today - timedelta(days=round(OLDEST_AGE_YEARS * 365.25)):
        raise InvalidInput(f"The date of birth is more than {OLDEST_AGE_YEARS} years ago.")
    return born.isoformat()


def _clean_sex(value):
    if value not in SEXES:
        raise InvalidInput("Choose female, male, other or unknown.")
    return value


def clean_email(value):
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_EMAIL_LENGTH:
        raise InvalidInput("That e-mail address is too long.")
    try:
        return email_validator.validate_email(text, check_deliverability=False).normalized
    except ValueError:
        raise InvalidInput("Enter a valid e-mail address, like name@example.org.") from None


def _clean_phone(value):
    text = " ".join((value or "").split())
    if not text:
        return None
    digits = sum(ch.isdigit() for ch in text)
    if len(text) > MAX_PHONE_LENGTH or not PHONE_RE.match(text) \
            or not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        raise InvalidInput(f"Enter a phone number of {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS} "
                           "digits (spaces, +, - and brackets allowed).")
    return text


def clean_postcode(value):
    """Optional; any country's form (letters, digits, spaces, a hyphen), upper case. Research
    exports only ever use a US ZIP code's first three digits (models.research.deidentify)."""
    text = " ".join((value or "").split()).upper()
    if not text:
        return None
    if len(text) > MAX_POSTCODE_LENGTH or not POSTCODE_RE.match(text):
        raise InvalidInput(f"Enter a postcode of at most {MAX_POSTCODE_LENGTH} letters and "
                           "digits (e.g. 02139).")
    return text


def _profile(details, **extra):
    profile = {key: details[key] for key in ("date_of_birth", "sex", "email", "phone")}
    if details.get("postcode"):
        profile["postcode"] = details["postcode"]
    profile.update(extra)
    return profile


def require_patient(db, patient_id):
    """The patient account for a human id, or NotFound (the same answer for any other role)."""
    patient = users.by_human_id(db, patient_id or "", role=users.PATIENT)
    if patient is None:
        raise NotFound(f"There is no patient {str(patient_id or '')[:20]}.")
    return patient


def age(date_of_birth, today=None):
    """Full years since an ISO date of birth (None if there is none)."""
    try:
        born = date.fromisoformat(date_of_birth or "")
    except (TypeError, ValueError):
        return None
    today = today or clock.now().date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def card(doc, today=None):
    """Who the patient is, as a banner or a search result shows it: name, date of birth, age,
    sex and id (no contact details, nothing clinical). None for no document."""
    if doc is None:
        return None
    profile = doc.get("profile") or {}
    born = profile.get("date_of_birth")
    return {"human_id": doc["human_id"], "name": doc.get("name") or doc["human_id"],
            "date_of_birth": born, "age": age(born, today), "sex": profile.get("sex"),
            "sex_label": SEX_LABELS.get(profile.get("sex"), "Unknown"),
            "active": doc.get("active", True)}


def card_of(db, human_id):
    """The card of one patient by id, or None."""
    return card(users.by_human_id(db, human_id or "", role=users.PATIENT))


def cards_by_id(db, human_ids):
    """{id: card} for a short list of patient ids (one `$in` on the unique id index)."""
    wanted = sorted({hid for hid in human_ids if hid})
    if not wanted:
        return {}
    found = db.users.find({"human_id": {"$in": wanted}}, CARD_FIELDS)
    today = clock.now().date()
    return {doc["human_id"]: card(doc, today) for doc in found if doc.get("role") == users.PATIENT}


def same_person(db, name, date_of_birth):
    """Cards of the patients registered with this name (folded: case, accents, punctuation)
    and this date of birth: one equality on the date-of-birth index."""
    wanted = names.fold(name)
    found = db.users.find({"profile.date_of_birth": date_of_birth}, CARD_FIELDS,
                          limit=SAME_BIRTH_DATE_LIMIT)
    return [card(doc) for doc in found
            if doc.get("role") == users.PATIENT and names.fold(doc.get("name")) == wanted]


def register_self(db, *, password, rounds, confirm=None, **fields):
    """A patient's own registration: the new account, able to sign in at once.

    Every problem is reported at once: the details, the password (and its repetition, when
    `confirm` is given) and a username already in use."""
    errors = {}
    details = check(errors, **fields)
    errors.update(users.new_password_problems(password, confirm, fields.get("username")))
    accounts.refuse(errors, accounts.taken_username(db, details.get("username")))
    return users.create_user(db, username=details["username"], role=users.PATIENT,
                             name=details["name"], password=password, rounds=rounds,
                             profile=_profile(details))


def registering_desk(org):
    """The organization, if its managers register patients (care organizations); Forbidden
    for a research organization, which never holds patients' details."""
    if not organizations.shares_records(org):
        raise Forbidden("A research organization does not register patients.")
    return org


def register_at_desk(db, org, *, rounds, registered_by, confirm_new_person=False, **fields):
    """(patient, setup code): registered by a manager of `org`, who hands over the code.

    A patient with the same name and date of birth is a PossibleDuplicate (409, listing them)
    unless the manager confirmed this is a different person.
    """
    registering_desk(org)
    errors = {}
    details = check(errors, **fields)
    accounts.refuse(errors, accounts.taken_username(db, details.get("username")))
    if not confirm_new_person:
        matches = same_person(db, details["name"], details["date_of_birth"])
        if matches:
            raise PossibleDuplicate(matches)
    return accounts.create_with_setup_code(
        db, rounds=rounds, username=details["username"], role=users.PATIENT, name=details["name"],
        profile=_profile(details, registered_at=org["human_id"]),
        created_by=registered_by["human_id"])


def insert_prepared(db, rows, password_hash, created_by):
    """Bulk-insert already-cleaned patients (demo data) with one shared password hash.

    The documents have the shape `users.create_user` gives; human ids come from one atomic
    reservation, so 10,000 patients cost one counter update and one insert_many per batch.
    """
    if not rows:
        return []
    human_ids = ids.next_ids(db, "patient", len(rows))
    created_at = clock.now()
    docs = [{
        "username": row["username"],
        "password_hash": password_hash,
        "must_set_password": False,
        "role": users.PATIENT,
        "name": row["name"],
        "human_id": human_id,
        "org_id": None,
        "profile": _profile(row),
        "active": True,
        "verification": {"state": "verified"},
        "failed_logins": 0,
        "locked_until": None,
        "actor": "act-" + secrets.token_hex(8),
        "created_at": created_at,
        "created_by": created_by,
        **names.name_keys(users.PATIENT, row["name"]),
    } for row, human_id in zip(rows, human_ids)]
    db.users.insert_many([authority.stamp("users", doc) for doc in docs])
    return docs


def usernames_between(db, first, last):
    """Usernames from `first` to `last` inclusive: one range on the username index, which
    stays fast for thousands of names where a long `$in` list does not."""
    found = db.users.find({"username": {"$gte": first, "$lte": last}}, {"username": 1})
    return {doc["username"] for doc in found}


def human_ids_by_username(db, usernames):
    """Human ids of the patients with these usernames, read with one range on the username
    index (from the smallest to the largest name) instead of a long, slow `$in` list."""
    wanted = set(usernames)
    if not wanted:
        return []
    found = db.users.find({"username": {"$gte": min(wanted), "$lte": max(wanted)},
                           "role": users.PATIENT}, {"username": 1, "human_id": 1})
    return [doc["human_id"] for doc in found if doc["username"] in wanted]
