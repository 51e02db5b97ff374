"""What a notification says, in one sentence, for the inbox and for e-mail alike.

Built only from what a notification keeps: who (name, id, organization), what kind of thing,
which request, grant, emergency or record (type and id), and when. Never a clinical value, a
diagnosis, a request's message or a decision's note: notifications do not keep them.
"""
from models.core import record_types
from models.people import two_factor_events, users

REQUEST, DECISION, WITHDRAWN, GRANTED, REVOKED = (
    "request", "decision", "withdrawn", "granted", "revoked")
READ, EMERGENCY, EMERGENCY_REVIEW, DISPENSED = "read", "emergency", "emergency-review", "dispensed"
APPOINTMENT = "appointment"
APPOINTMENT_SENTENCES = {
    "requested": "{actor} asks for an appointment {appointment}{at}.",
    "time_proposed": "{actor} proposes {at_plain} for appointment {appointment}: accept or "
                     "decline it.",
    "accepted": "{actor} accepted appointment {appointment}{at}: it is booked.",
    "declined": "{actor} declined appointment {appointment}{at}.",
    "cancelled": "{actor} cancelled appointment {appointment}{at}.",
    "arrived": "{actor} checked in the patient of appointment {appointment}{at}.",
    "fulfilled": "{actor} marked appointment {appointment}{at} as fulfilled.",
    "noshow": "{actor} marked appointment {appointment}{at} as a no-show.",
    "entered_in_error": "{actor} marked appointment {appointment}{at} as entered in error.",
}
ADMITTED, DISCHARGED, SUMMARY_DUE = "admitted", "discharged", "summary-due"
DIRECTORY_CHANGED = "directory-changed"
STUDY_DECIDED = "study-decided"
SECURITY = "security"
SECURITY_SENTENCES = {
    two_factor_events.ENABLED: "Two-factor sign-in is now on for your account.",
    two_factor_events.RESET: ("{actor} reset your two-factor sign-in (the reason is on your "
                              "Security page); set it up again at your next sign-in."),
    two_factor_events.RECOVERY_USED: ("A recovery code was used to sign in to your account "
                                      "({remaining} left). If it was not you, tell an "
                                      "administrator."),
    two_factor_events.REGENERATED: ("New recovery codes were made for your account; the old "
                                    "ones no longer work."),
}
KIND_LABELS = {
    REQUEST: "Access request", DECISION: "Decision on your request", WITHDRAWN: "Request withdrawn",
    GRANTED: "Records shared with you", REVOKED: "Access revoked", READ: "Records read",
    EMERGENCY: "Emergency access", EMERGENCY_REVIEW: "Emergency access to review",
    DISPENSED: "Prescription dispensed", APPOINTMENT: "Appointment",
    DIRECTORY_CHANGED: "Directory entry changed",
    ADMITTED: "Admitted to hospital", DISCHARGED: "Discharged from hospital",
    SUMMARY_DUE: "Discharge summary to write", STUDY_DECIDED: "Decision on your study",
    SECURITY: "Sign-in security",
}
ORGANIZATION_ROLE = "organization"


def when(moment):
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def who(actor, org_names=None):
    """"Dana Doctor (DOC-000001, Saint Anne Hospital)"; an organization by its name and id."""
    actor = actor or {}
    name, human_id = actor.get("name") or "Someone", actor.get("id")
    org = actor.get("org")
    org_name = (org_names or {}).get(org) if org else None
    parts = [part for part in (human_id, org_name or (org if org != human_id else None)) if part]
    return f"{name} ({', '.join(parts)})" if parts else name


def type_label(name):
    return record_types.TYPE_LABELS.get(name, name or "record")


def _record(about):
    return f"{type_label(about.get('record_type'))} {about.get('record')} v{about.get('version')}"


def _days(detail):
    days = detail.get("days")
    return f"{days} day{'s' if days != 1 else ''}" if days else ""


def describe(note, org_names=None):
    """The notification as one sentence."""
    kind, about, detail = note.get("kind"), note.get("about") or {}, note.get("detail") or {}
    actor = who(note.get("actor"), org_names)
    if kind == REQUEST:
        terms = ", ".join(part for part in (detail.get("scope"), detail.get("purpose"),
                                            _days(detail)) if part)
        return f"{actor} asks to read your records ({terms}): request {about.get('request')}."
    if kind == DECISION:
        if detail.get("state") != "approved":
            return f"{actor} {detail.get('state', 'decided')} your request {about.get('request')}."
        text = f"{actor} approved your request {about.get('request')}"
        changes = []
        if detail.get("narrowed") and detail.get("scope"):
            changes.append(f"narrowed to {detail['scope']}")
        if detail.get("shortened"):
            changes.append(f"{_days(detail)} instead of the {detail.get('asked_days')} asked")
        return text + (f" ({'; '.join(changes)})." if changes else f" ({_days(detail)}).")
    if kind == WITHDRAWN:
        return f"{actor} withdrew the access request {about.get('request')}."
    if kind == GRANTED:
        terms = ", ".join(part for part in (
            detail.get("scope"), detail.get("until") and f"until {when(detail['until'])}") if part)
        return f"{actor} shared records with you ({terms}): grant {about.get('grant')}."
    if kind == REVOKED:
        return f"{actor} revoked your access under grant {about.get('grant')}."
    if kind == READ:
        count = int(note.get("count") or 1)
        listed = note.get("records") or []
        if count > 1:
            return f"{actor} read your records {count} times."
        if listed:
            return f"{actor} read your record {_record(_as_about(listed[0]))}."
        return f"{actor} read one of your records."
    if kind == EMERGENCY:
        return (f"{actor} opened emergency access to your records, until "
                f"{when(detail.get('until'))}.")
    if kind == EMERGENCY_REVIEW:
        patient = f" to patient {about['patient']}" if about.get("patient") else ""
        return (f"{actor} opened emergency access {about.get('emergency')}{patient}: it waits "
                "for review.")
    if kind == DISPENSED:
        if not about.get("record"):
            return f"{actor} dispensed one of your prescriptions."
        return f"{actor} dispensed your prescription {about['record']} v{about.get('version')}."
    if kind == APPOINTMENT:
        start = detail.get("start")
        sentence = APPOINTMENT_SENTENCES.get(detail.get("action"), "{actor} changed appointment "
                                                                  "{appointment}{at}.")
        return sentence.format(actor=actor, appointment=about.get("appointment"),
                               at=f" at {when(start)}" if start else "",
                               at_plain=when(start) if start else "a time")
    if kind == ADMITTED:
        return (f"{actor} admitted you ({about.get('admission')}): ward {detail.get('ward')}, "
                f"bed {detail.get('bed')}, since {when(detail.get('at'))}.")
    if kind == DISCHARGED:
        return f"{actor} recorded your discharge ({about.get('admission')}) at {when(detail.get('at'))}."
    if kind == SUMMARY_DUE:
        return (f"Patient {about.get('patient')} was discharged ({about.get('admission')}): "
                "the discharge summary is yours to write.")
    if kind == DIRECTORY_CHANGED:
        return f"{actor} changed your directory entry (version {about.get('version')})."
    if kind == SECURITY:
        return SECURITY_SENTENCES.get(detail.get("event"), KIND_LABELS[SECURITY]).format(
            actor=actor, remaining=detail.get("remaining"))
    if kind == STUDY_DECIDED:
        return f"{actor} {detail.get('status', 'decided')} your study {about.get('study')}."
    return KIND_LABELS.get(kind, "Notification")


def _as_about(read):
    return {"record": read.get("record"), "version": read.get("version"),
            "record_type": read.get("type")}


def listed_reads(note):
    """[(label, record id, version)] of the records a read notification names."""
    return [(type_label(read.get("type")), read.get("record"), read.get("version"))
            for read in note.get("records") or []]


def role_label(role):
    return users.ROLE_LABELS.get(role, "Organization" if role == ORGANIZATION_ROLE else role)
