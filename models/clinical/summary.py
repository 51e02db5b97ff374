"""The patient summary: what a clinician needs first — allergies, active problems, current
medications, the latest vitals with their trend, the blood group.

Built from current, final record versions only (an amended or entered-in-error version says
nothing about the patient now). For the patient it is built from what their dashboard has
already opened; for a clinician (`for_reader`), each record it shows is read the one way every
read goes (decide, seal the read, decrypt), so the patient's "who saw my records" lists the
summary's reads like any other. A one-time grant is never used up by a summary: records only a
one-time grant opens are counted as "open them one by one".
"""
from datetime import timedelta
from decimal import Decimal

from models.clinical import reading, records
from models.consent import access
from models.core import clock
from models.core import record_types as types
from models.core.errors import InvalidInput

SUMMARY_TYPES = (types.ALLERGY, types.DIAGNOSIS, types.PRESCRIPTION, types.GENERAL)
ACTIVE_PROBLEMS = ("active", "recurrence", "relapse")
SEVERITY_ORDER = {"severe": 0, "moderate": 1, "mild": 2}
VITALS_POINTS = 12
TREND_SERIES = (("weight_kg", "Weight (kg)"), ("systolic_mmhg", "Systolic (mmHg)"),
                ("diastolic_mmhg", "Diastolic (mmHg)"), ("heart_rate_bpm", "Heart rate (/min)"))
READ_ITEM = "summary"


def _label(type_name, field_name, value):
    spec = next(f for f in types.TYPES[type_name].fields if f.name == field_name)
    return types.choice_label(spec, value) if value is not None else None


def _course_ends(doc, data):
    """The last day of a prescription's course (from the day it was written)."""
    return (doc["created_at"] + timedelta(days=int(data["duration_days"]))).date()


def _allergies(items):
    found = [{"record": doc, "substance": data["substance"],
              "category": _label(types.ALLERGY, "category", data["category"]),
              "severity": data["severity"],
              "severity_label": _label(types.ALLERGY, "severity", data["severity"]),
              "reaction": data.get("reaction")}
             for doc, data in items if doc["type"] == types.ALLERGY]
    return sorted(found, key=lambda row: (SEVERITY_ORDER.get(row["severity"], 9),
                                          row["substance"].casefold()))


def _problems(items):
    found = [{"record": doc, "description": data["description"], "code": data.get("code"),
              "status": _label(types.DIAGNOSIS, "clinical_status", data["clinical_status"]),
              "onset": data.get("onset")}
             for doc, data in items
             if doc["type"] == types.DIAGNOSIS and data["clinical_status"] in ACTIVE_PROBLEMS]
    return sorted(found, key=lambda row: row["record"]["created_at"], reverse=True)


def _medications(items, today):
    found = []
    for doc, data in items:
        if doc["type"] != types.PRESCRIPTION or doc.get("rx_status") == records.RX_CANCELLED:
            continue
        ends = _course_ends(doc, data)
        if ends < today:
            continue
        found.append({"record": doc, "medication": data["medication"],
                      "strength": data["strength"], "dose": data["dose"],
                      "frequency": data["frequency"],
                      "route": _label(types.PRESCRIPTION, "route", data["route"]),
                      "until": ends, "dispensed": doc.get("rx_status") == records.RX_DISPENSED})
    return sorted(found, key=lambda row: row["medication"].casefold())


def _vitals(items):
    """(latest measurements as rows, trend {labels, series}, blood group) from general records."""
    general = sorted(((doc, data) for doc, data in items if doc["type"] == types.GENERAL),
                     key=lambda pair: (pair[0]["created_at"], pair[0]["record_id"]))
    spec = types.TYPES[types.GENERAL]
    latest, blood = {}, None
    for doc, data in general:  # oldest first: later measurements overwrite earlier ones
        for field in spec.fields:
            value = data.get(field.name)
            if value is not None and not field.name.startswith("blood_group"):
                shown = types.choice_label(field, value)
                latest[field.name] = {"label": field.label, "value": shown, "unit": field.unit,
                                      "on": doc["created_at"], "record": doc}
        if data.get("bmi") is not None:
            latest["bmi"] = {"label": "BMI", "value": data["bmi"], "unit": "kg/m²",
                             "on": doc["created_at"], "record": doc,
                             "note": data.get("bmi_category")}
        if data.get("blood_group_abo") and data.get("blood_group_rh"):
            blood = {"value": f"{data['blood_group_abo']}{data['blood_group_rh']}",
                     "on": doc["created_at"], "record": doc}
    recent = general[-VITALS_POINTS:]
    trend = {"labels": [doc["created_at"].strftime("%Y-%m-%d") for doc, _ in recent],
             "series": [{"name": name, "label": label,
                         "values": [float(Decimal(str(data[name])))
                                    if data.get(name) is not None else None
                                    for _, data in recent]}
                        for name, label in TREND_SERIES]}
    trend["series"] = [series for series in trend["series"]
                       if sum(value is not None for value in series["values"]) >= 2]
    order = [field.name for field in spec.fields] + ["bmi"]
    rows = [latest[name] for name in order if name in latest]
    return rows, trend, blood


def build(items, today=None):
    """The summary from [(current version, its values)] of one patient."""
    today = today or clock.now().date()
    current = [(doc, data) for doc, data in items
               if doc["status"] == records.FINAL and doc["type"] in SUMMARY_TYPES]
    vitals, trend, blood = _vitals(current)
    return {"allergies": _allergies(current), "problems": _problems(current),
            "medications": _medications(current, today), "vitals": vitals, "trend": trend,
            "blood_group": blood, "hidden": 0, "one_by_one": 0}


def _summary_versions(db, patient_id):
    """The current, final versions of the summary's types (envelopes), newest first."""
    groups = records.grouped(records.for_patient(db, patient_id))
    return [current for current, _ in groups
            if current["status"] == records.FINAL and current["type"] in SUMMARY_TYPES]


def _bounded(docs):
    """Every allergy, diagnosis and prescription, and the latest vitals only (the trend)."""
    general = [doc for doc in docs if doc["type"] == types.GENERAL][:VITALS_POINTS]
    return [doc for doc in docs if doc["type"] != types.GENERAL] + general


def for_reader(db, key, viewer, patient_id):
    """The summary as `viewer` may see it: each record it shows is read (and sealed) first.

    Records the viewer may not read are counted in `hidden`; records only a one-time grant
    opens are counted in `one_by_one` and left unread (a summary must not use the grant up).
    """
    docs = _bounded(_summary_versions(db, patient_id))
    _, decisions = access.evaluate_all(db, viewer, patient_id, docs)
    items, hidden, one_by_one = [], 0, 0
    for doc in docs:
        decision = decisions[(doc["record_id"], doc["version"])]
        if not decision.allowed:
            hidden += 1
        elif decision.grant and decision.grant["one_time"]:
            one_by_one += 1
        else:
            opened, _ = reading.read_version(db, viewer, doc["record_id"], doc["version"],
                                             item=READ_ITEM)
            items.append((opened, records.data_of(key, opened)))
    summary = build(items)
    summary.update(hidden=hidden, one_by_one=one_by_one)
    return summary


def by_type(opened, type_name=None, since=None, until=None):
    """[(type name, label, [(current, older, values)])] in the vocabulary's order, filtered by
    type and by the day each record was written (inclusive); empty types left out."""
    if type_name and type_name not in types.TYPES:
        raise InvalidInput("Choose one of the listed record types.",
                           {"type": "Choose one of the listed record types."})
    if since and until and since > until:
        raise InvalidInput("The start date is after the end date.",
                           {"since": "The start date must be on or before the end date."})
    sections = []
    for name, spec in types.TYPES.items():
        if type_name and name != type_name:
            continue
        chosen = [item for item in opened if item[0]["type"] == name
                  and (since is None or item[0]["created_at"].date() >= since)
                  and (until is None or item[0]["created_at"].date() <= until)]
        if chosen:
            sections.append((name, spec.label, chosen))
    return sections


def headline(doc, values):
    """The one line that names a record in a folded list: its summary field's value."""
    spec = types.TYPES[doc["type"]]
    value = values.get(spec.summary_field) if spec.summary_field else None
    if value is None:
        return spec.label
    field = next((f for f in spec.fields if f.name == spec.summary_field), None)
    shown = types.choice_label(field, value) if field else value
    return f"BMI {shown}" if spec.summary_field == "bmi" else str(shown)
