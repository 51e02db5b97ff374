"""Files attached to records: size-limited, typed by their content, encrypted in GridFS.

The browser's content type and the file name's extension are not trusted: the type comes from
the file's first bytes (PDF, PNG, JPEG, DICOM's "DICM" at offset 128), or for a FHIR resource
from the content parsed as a JSON object naming its `resourceType` (the imported FHIR entries
keep their original JSON this way). The SHA-256 of the
plaintext goes into the record's sealed attributes; the bytes are stored AES-GCM encrypted,
bound to the patient and that hash, so a swapped or edited file fails on download.
"""
import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass

import gridfs
from gridfs.errors import GridFSError, NoFile

from models.core.errors import InvalidInput, TooLarge
from models.storage import crypto

COLLECTION = "attachments"
MAX_FILES = 10
MAX_NAME_LENGTH = 120
MEDIA_TYPES = {
    "application/pdf": (".pdf", "PDF"),
    "image/png": (".png", "PNG image"),
    "image/jpeg": (".jpg", "JPEG image"),
    "application/dicom": (".dcm", "DICOM image"),
    "application/fhir+json": (".json", "FHIR resource (JSON)"),
}
FIELD = "files"
_RESOURCE_TYPE_RE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")


@dataclass
class Upload:
    """One file as received: its name from the browser and its bytes."""
    name: str
    data: bytes


def sniff(data):
    """The media type from the content, or None if it is not an accepted kind."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "application/dicom"
    if data.lstrip()[:1] == b"{" and _is_fhir_json(data):
        return "application/fhir+json"
    return None


def _is_fhir_json(data):
    """A UTF-8 JSON object whose `resourceType` names a resource (not merely text ending in })."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("resourceType"), str) and \
        bool(_RESOURCE_TYPE_RE.match(parsed["resourceType"]))


def safe_name(name, media_type):
    """A display/download name without paths or control characters, with a fitting extension."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in unicodedata.normalize("NFC", base)
                   if not unicodedata.category(ch).startswith("C") and ch not in '"<>:|?*')
    base = base.strip(" .")[:MAX_NAME_LENGTH] or "attachment"
    extension = MEDIA_TYPES[media_type][0]
    stem, ext = os.path.splitext(base)
    accepted = {extension} | ({".jpeg"} if media_type == "image/jpeg" else set()) | \
        ({".dicom"} if media_type == "application/dicom" else set())
    return base if ext.lower() in accepted else f"{stem or 'attachment'}{extension}"


def check(uploads, max_bytes):
    """Validated uploads with their type, size and hash; TooLarge or InvalidInput otherwise."""
    uploads = [upload for upload in uploads if upload.name or upload.data]
    if len(uploads) > MAX_FILES:
        problem = f"Attach at most {MAX_FILES} files at a time."
        raise InvalidInput(problem, {FIELD: problem})
    checked = []
    for upload in uploads:
        if len(upload.data) > max_bytes:
            problem = (f"{upload.name or 'A file'} is larger than the limit of "
                       f"{max_bytes // (1024 * 1024) or max_bytes} "
                       f"{'MB' if max_bytes >= 1024 * 1024 else 'bytes'}.")
            raise TooLarge(problem, {FIELD: problem})
        media_type = sniff(upload.data)
        if media_type is None:
            problem = (f"{upload.name or 'A file'} is not a PDF, PNG, JPEG or DICOM file "
                       "nor a FHIR resource in JSON (checked from its content).")
            raise InvalidInput(problem, {FIELD: problem})
        checked.append({"name": safe_name(upload.name, media_type), "media_type": media_type,
                        "size": len(upload.data),
                        "sha256": hashlib.sha256(upload.data).hexdigest(),
                        "data": upload.data})
    return checked


def _fs(db):
    return gridfs.GridFS(db, collection=COLLECTION)


def store(db, key, checked, patient_id):
    """Write checked uploads to GridFS (encrypted); their metadata for the record envelope."""
    stored = []
    fs = _fs(db)
    try:
        for item in checked:
            blob = crypto.encrypt_file(key, patient_id, item["sha256"], item["data"])
            file_id = fs.put(blob, patient_id=patient_id)
            stored.append({"file_id": file_id, "name": item["name"],
                           "media_type": item["media_type"], "size": item["size"],
                           "sha256": item["sha256"]})
    except Exception:
        discard(db, stored)
        raise
    return stored


def discard(db, stored):
    """Remove files whose record was never written."""
    fs = _fs(db)
    for meta in stored:
        fs.delete(meta["file_id"])


def read(db, key, patient_id, meta):
    """The plaintext bytes, checked against the sealed SHA-256; TamperedCiphertext otherwise."""
    try:
        blob = _fs(db).get(meta["file_id"]).read()
    except NoFile:
        raise crypto.TamperedCiphertext("This attachment is missing from the file store.") from None
    except GridFSError:
        raise crypto.TamperedCiphertext("This attachment's stored chunks were altered.") from None
    data = crypto.decrypt_file(key, patient_id, meta["sha256"], blob)
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise crypto.TamperedCiphertext("This attachment does not match its sealed hash.")
    return data


def sealed_form(attachments):
    """The attachments as sealed on the ledger: everything but the storage id."""
    return [{"name": a["name"], "media_type": a["media_type"], "size": int(a["size"]),
             "sha256": a["sha256"]} for a in attachments]


def label(media_type):
    return MEDIA_TYPES.get(media_type, ("", media_type))[1]
