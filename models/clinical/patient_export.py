"""A patient's own data as one JSON document: every record version with its values and files,
the requests and grants about them, emergency accesses, and who read what."""
import base64

from models.clinical import audit_trail, records
from models.consent import emergency
from models.consent import workflow as consent
from models.core import clock
from models.storage import attachments

FORMAT = "medledger-patient-export/1"


def _plain(value):
    """Datetimes as RFC 3339, ObjectIds dropped: JSON a person can read and a program can parse."""
    if hasattr(value, "isoformat") and hasattr(value, "tzinfo"):
        return clock.ts(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()
                if k not in ("_id", "box", "file_id", "seals", "seal_salts")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def build(db, key, patient):
    me = patient["human_id"]
    versions, files = [], {}
    for doc in records.for_patient(db, me, projection=None):
        item = _plain(doc)
        item["data"] = records.data_of(key, doc)
        versions.append(item)
        for meta in doc.get("attachments", []):
            if meta["sha256"] not in files:  # a file carried over by an amendment is kept once
                files[meta["sha256"]] = {
                    "name": meta["name"], "media_type": meta["media_type"], "size": meta["size"],
                    "content_base64": base64.b64encode(
                        attachments.read(db, key, me, meta)).decode("ascii")}
    versions.sort(key=lambda item: (item["record_id"], item["version"]))
    return {
        "format": FORMAT,
        "exported_at": clock.ts(clock.now_ms()),
        "patient": {"id": me, "name": patient["name"], "profile": _plain(patient.get("profile", {}))},
        "records": versions,
        "files": files,  # by SHA-256, as each record version's `attachments` names them
        "access_requests": [_plain(req) for req in consent.requests_for_patient(db, me)],
        "grants": [_plain(grant) for grant in consent.grants_for_patient(db, me)],
        "emergency_accesses": [_plain(case) for case in emergency.for_patient(db, me)],
        "reads": [_plain(entry) for entry in audit_trail.for_patient(db, me)],
    }
