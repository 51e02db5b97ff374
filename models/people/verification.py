"""Doctors' credential verification: licence upload, the admin's decision, and its seal.

States: unverified → pending (licence uploaded) → verified | rejected (with a reason);
rejected → pending again when the doctor uploads a new licence. Each transition is one
compare-and-set (models.core.transitions) on the state it expects, so a second click on a decided licence is a
Conflict, never a second block. Approval seals `account.verified`; its attributes and salts
stay on the doctor's document so the audit can rebuild them.

The licence's type comes from its first bytes, never from the browser's file name or
Content-Type, and the file is refused before anything is stored if it is too large.
"""
import hashlib
from datetime import datetime

import gridfs
from gridfs.errors import NoFile
from werkzeug.utils import secure_filename

from models.core.clock import now_ms, ts
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from models.storage.authority import transition_where
from models.people import users
from models.sealing import registry
from models.sealing.registry import EventKind
from models.sealing.seam import merge, new_salts, pending_update, seal_pending
from models.storage import attachments

UNVERIFIED, PENDING, VERIFIED, REJECTED = "unverified", "pending", "verified", "rejected"
UPLOADABLE = (UNVERIFIED, REJECTED)
SEALED_KIND = "account.verified"
LICENCE_COLLECTION = "licences"
LICENCE_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
MIN_REASON, MAX_REASON = 3, 500
QUEUE_LIMIT = 200


def licences(db):
    return gridfs.GridFS(db, collection=LICENCE_COLLECTION)


def sniff(data):
    """(media type, extension) of an acceptable licence, from its magic bytes, or None."""
    media_type = attachments.sniff(data)
    return (media_type, LICENCE_TYPES[media_type]) if media_type in LICENCE_TYPES else None


def read_upload(stream, limit):
    """At most `limit` bytes of an upload; anything longer is refused without reading it all."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"The licence is larger than {limit // (1024 * 1024) or 1} MB.",
                       {"licence": f"Upload a file of at most {limit:,} bytes."})
    return data


def submit_licence(db, doctor, data, filename, limit):
    """Store a licence and move the doctor to pending; nothing is stored if anything is wrong."""
    if doctor.get("role") != users.DOCTOR:
        raise Forbidden("Only doctors upload a licence.")
    state = doctor["verification"]["state"]
    if state not in UPLOADABLE:
        raise Conflict("Your licence is already verified." if state == VERIFIED
                       else "Your licence is already waiting for review.")
    if len(data) > limit:
        raise TooLarge("The licence is too large.",
                       {"licence": f"Upload a file of at most {limit:,} bytes."})
    if not data:
        raise InvalidInput("The file is empty.", {"licence": "The file is empty."})
    sniffed = sniff(data)
    if sniffed is None:
        problem = "Upload a PDF, PNG or JPEG file (the content is checked, not the name)."
        raise InvalidInput(problem, {"licence": problem})
    media_type, extension = sniffed
    digest = hashlib.sha256(data).hexdigest()
    now = now_ms()
    file_id = licences(db).put(
        data, filename=f"licence-{doctor['human_id']}.{extension}", content_type=media_type,
        metadata={"account": doctor["human_id"], "sha256": digest})
    update = {"$set": {"verification": {
        "state": PENDING,
        "submitted_at": now,
        "licence": {"file_id": file_id, "original_name": secure_filename(filename or "")[:120],
                    "media_type": media_type, "extension": extension, "size": len(data),
                    "sha256": digest, "uploaded_at": now},
    }}}
    if state == REJECTED:
        update["$push"] = {"verification_history": doctor["verification"]}
    updated = transition_where(
        db.users, {"_id": doctor["_id"], "verification.state": state}, update)
    if updated is None:
        licences(db).delete(file_id)
        raise Conflict("Your verification changed in the meantime; reload the page.")
    return updated


def get_doctor(db, human_id):
    """A doctor by human id, whatever their verification state, or NotFound."""
    doctor = db.users.find_one({"human_id": (human_id or "").strip().upper(),
                                "role": users.DOCTOR})
    if doctor is None:
        raise NotFound("There is no such doctor.")
    return doctor


def queue(db):
    """Doctors waiting for a decision, oldest submission first (bounded, indexed)."""
    found = db.users.find({"role": users.DOCTOR, "verification.state": PENDING},
                          {"password_hash": 0}, limit=QUEUE_LIMIT)
    return sorted(found, key=lambda doc: doc["verification"]["submitted_at"])


def open_licence(db, doctor):
    """(bytes, media type, download name) of the doctor's current licence, or NotFound."""
    licence = doctor.get("verification", {}).get("licence")
    if not licence:
        raise NotFound("This doctor has not uploaded a licence.")
    try:
        data = licences(db).get(licence["file_id"]).read()
    except NoFile:
        raise NotFound("The licence file is missing.") from None
    return data, licence["media_type"], f"licence-{doctor['human_id']}.{licence['extension']}"


def approve(db, human_id, admin):
    """pending → verified, sealed as `account.verified`; a second approval is a Conflict."""
    salts = new_salts(sealed_attributes({}))
    doctor = transition_where(
        db.users, {"human_id": human_id, "role": users.DOCTOR, "verification.state": PENDING},
        merge({"$set": {"verification.state": VERIFIED, "verification.decided_at": now_ms(),
                        "verification.decided_by": admin["human_id"],
                        "verification.decided_by_actor": admin["actor"]}},
              pending_update(SEALED_KIND, salts)))
    if doctor is None:
        _refuse_decision(db, human_id)
    seal_pending(db, SEALED_KIND, doctor, admin, sealed_attributes(doctor), salts)
    return doctor


def reject(db, human_id, admin, reason):
    """pending → rejected with a reason the doctor sees; they may upload again."""
    reason = " ".join((reason or "").split())
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        problem = f"Give a reason of {MIN_REASON} to {MAX_REASON} characters."
        raise InvalidInput(problem, {"reason": problem})
    doctor = transition_where(
        db.users, {"human_id": human_id, "role": users.DOCTOR, "verification.state": PENDING},
        {"$set": {"verification.state": REJECTED, "verification.reason": reason,
                  "verification.decided_at": now_ms(),
                  "verification.decided_by": admin["human_id"]}})
    if doctor is None:
        _refuse_decision(db, human_id)
    return doctor


def _refuse_decision(db, human_id):
    doctor = get_doctor(db, human_id)
    raise Conflict(f"{doctor['human_id']} is {doctor['verification']['state']}: "
                   "there is no licence waiting for a decision.")


def sealed_attributes(doctor):
    """The `account.verified` attributes, from the document as it is now."""
    verification = doctor.get("verification") or {}
    licence = verification.get("licence") or {}
    decided_at = verification.get("decided_at")
    return {
        "account": doctor.get("human_id"),
        "role": doctor.get("role"),
        "state": verification.get("state"),
        "organization": doctor.get("org_id"),
        "licence_sha256": licence.get("sha256"),
        "decided_by": verification.get("decided_by_actor"),
        "decided_at": ts(decided_at) if isinstance(decided_at, datetime) else decided_at,
    }


def rebuild_sealed_verification(db, block_doc, data_key, prefetched=None):
    """The doctor named in the block's subject, if their document still points at this block."""
    account = (block_doc.get("subject") or {}).get("account")
    if not isinstance(account, str):
        return None
    doctor = registry.take(prefetched, block_doc,
                           lambda doc: registry.same(doc.get("human_id"), account))
    if doctor is None:
        doctor = db.users.find_one({"human_id": account})
    if doctor is None:
        return None
    verification = doctor.get("verification") or {}
    if verification.get("sealed_height") != block_doc.get("height"):
        return None
    return sealed_attributes(doctor), verification.get("seal_salts") or {}


def verified_doctors(db):
    """Every verified doctor must be covered by an `account.verified` block."""
    found = db.users.find({"role": users.DOCTOR, "verification.state": VERIFIED},
                          {"human_id": 1, "verification.sealed_height": 1})
    for doctor in found:
        yield "users", doctor["human_id"], doctor["verification"].get("sealed_height")


def _decider(db, doctor):
    return users.by_human_id(db, (doctor.get("verification") or {}).get("decided_by") or "")


EVENTS = (EventKind(SEALED_KIND, "users", "verification.sealed_height",
                    rebuild_sealed_verification, creates_document=True,
                    projection={"password_hash": 0}, subject=lambda doc: {"account": doc["human_id"]},
                    salts_at="verification.seal_salts", actor=_decider,
                    sealed=lambda db, key, doc: (sealed_attributes(doc),
                                                 doc["verification"].get("seal_salts") or {})),)
COVERAGE = (verified_doctors,)
