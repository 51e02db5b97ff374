"""What an admission form may say: ward, bed, reason, destination and times, checked before
anything is written. Pure functions over the typed values (no database), each problem named
by its field so a form shows every one at once."""
import hashlib
import unicodedata
from datetime import datetime, time, timedelta, timezone

from models.core.errors import InvalidInput

MAX_WARD, MAX_BED = 40, 20
MIN_REASON, MAX_REASON = 3, 500
CLOCK_SKEW = timedelta(minutes=2)
"""A time typed as "now" on a desk whose clock runs a little ahead is still not the future."""
TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")
DESTINATIONS = (("home", "Home"), ("other_hospital", "Another hospital"),
                ("care_facility", "Care or nursing facility"),
                ("against_advice", "Left against medical advice"), ("deceased", "Deceased"),
                ("other", "Other"))
DESTINATION_LABELS = dict(DESTINATIONS)


def _line(text, label, low, high):
    """(clean single line, problem or None)."""
    text = " ".join(str(text or "").split())
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        return text, f"{label} contains characters that cannot be stored."
    text = unicodedata.normalize("NFC", text)
    if len(text) < low:
        return text, (f"{label} is required." if low <= 1 else
                      f"{label} needs at least {low} characters.")
    if len(text) > high:
        return text, f"{label} is too long (at most {high} characters)."
    return text, None


def place_key(text):
    """How a ward or bed name compares: spaces and case do not make another bed."""
    return unicodedata.normalize("NFC", " ".join(str(text).split())).casefold()


def reason_digest(reason):
    """What the chain keeps of the reason (a salted leaf over this hash, never the text)."""
    return hashlib.sha256(reason.encode("utf-8")).hexdigest()


def clean_place(errors, ward, bed):
    ward, problem = _line(ward, "Ward", 1, MAX_WARD)
    if problem:
        errors["ward"] = problem
    bed, problem = _line(bed, "Bed", 1, MAX_BED)
    if problem:
        errors["bed"] = problem
    return ward, bed


def clean_reason(errors, reason):
    reason, problem = _line(reason, "Reason", MIN_REASON, MAX_REASON)
    if problem:
        errors["reason"] = problem
    return reason


def clean_destination(errors, destination):
    if destination not in DESTINATION_LABELS:
        errors["destination"] = "Choose where the patient goes."
    return destination


def clean_time(errors, text, zone, now, *, not_before=None, today_only=False, name="at"):
    """The moment typed as local wall-clock time in the installation's zone ("" for now), as
    UTC to the millisecond: never in the future, never before `not_before`, and with
    `today_only` never before today's local midnight."""
    text = str(text or "").strip()
    if not text:
        moment = now
    else:
        moment = None
        for pattern in TIME_FORMATS:
            try:
                moment = datetime.strptime(text, pattern).replace(tzinfo=zone)
                break
            except ValueError:
                continue
        if moment is None:
            errors[name] = "Enter the time as YYYY-MM-DD HH:MM, or leave it empty for now."
            return None
        moment = moment.astimezone(timezone.utc)
    if moment > now + CLOCK_SKEW:
        errors[name] = "The time cannot be in the future."
        return None
    if today_only:
        midnight = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
        if moment < midnight.astimezone(timezone.utc):
            errors[name] = "The time must be today (admissions are recorded on the day)."
            return None
    if not_before is not None and moment < not_before:
        errors[name] = "The time cannot be before the admission's last change."
        return None
    moment = min(moment, now)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def refuse(errors):
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
