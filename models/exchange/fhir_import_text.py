"""An imported FHIR resource in words: the title and description of the patient's document.

Values are written as they came (a quantity's value exactly as its JSON number was written,
codes with their systems), so a reader sees the clinical facts and a round trip keeps them; the
whole resource is attached beside the text anyway, so a description cut at the record's length
limit loses nothing.
"""
import unicodedata
from decimal import Decimal

TITLE_LENGTH = 200
TEXT_LENGTH = 5000
_CUT = "\n… (cut here: the attached file holds the whole resource)"

# type: (label, element(s) that name it, [(label, element)] described in this order)
_DESCRIBED = {
    "Observation": ("Observation", "code", [
        ("Code", "code"), ("Category", "category"), ("Status", "status"),
        ("Value", "value[x]"), ("Data absent", "dataAbsentReason"),
        ("Interpretation", "interpretation"), ("Reference range", "referenceRange"),
        ("Components", "component"), ("Effective", "effective[x]"), ("Issued", "issued"),
        ("Subject", "subject"), ("Performer", "performer"), ("Body site", "bodySite"),
        ("Method", "method"), ("Note", "note")]),
    "Condition": ("Condition", "code", [
        ("Code", "code"), ("Clinical status", "clinicalStatus"),
        ("Verification status", "verificationStatus"), ("Category", "category"),
        ("Severity", "severity"), ("Body site", "bodySite"), ("Onset", "onset[x]"),
        ("Abatement", "abatement[x]"), ("Recorded", "recordedDate"), ("Subject", "subject"),
        ("Recorder", "recorder"), ("Note", "note")]),
    "MedicationRequest": ("Medication request", "medication[x]", [
        ("Medication", "medication[x]"), ("Status", "status"), ("Intent", "intent"),
        ("Authored on", "authoredOn"), ("Dosage", "dosageInstruction"),
        ("Dispense", "dispenseRequest"), ("Reason", "reasonCode"), ("Subject", "subject"),
        ("Requester", "requester"), ("Note", "note")]),
    "MedicationStatement": ("Medication statement", "medication[x]", [
        ("Medication", "medication[x]"), ("Status", "status"), ("Effective", "effective[x]"),
        ("Dosage", "dosage"), ("Subject", "subject"), ("Note", "note")]),
    "MedicationDispense": ("Medication dispense", "medication[x]", [
        ("Medication", "medication[x]"), ("Status", "status"), ("Quantity", "quantity"),
        ("Days supply", "daysSupply"), ("Handed over", "whenHandedOver"),
        ("Dosage", "dosageInstruction"), ("Subject", "subject"), ("Note", "note")]),
    "AllergyIntolerance": ("Allergy or intolerance", "code", [
        ("Substance", "code"), ("Clinical status", "clinicalStatus"),
        ("Verification status", "verificationStatus"), ("Type", "type"),
        ("Category", "category"), ("Criticality", "criticality"), ("Reaction", "reaction"),
        ("Onset", "onset[x]"), ("Recorded", "recordedDate"), ("Patient", "patient"),
        ("Note", "note")]),
    "Immunization": ("Immunization", "vaccineCode", [
        ("Vaccine", "vaccineCode"), ("Status", "status"), ("Occurrence", "occurrence[x]"),
        ("Dose", "protocolApplied"), ("Lot number", "lotNumber"), ("Site", "site"),
        ("Route", "route"), ("Dose quantity", "doseQuantity"), ("Patient", "patient"),
        ("Performer", "performer"), ("Note", "note")]),
    "DiagnosticReport": ("Diagnostic report", "code", [
        ("Code", "code"), ("Category", "category"), ("Status", "status"),
        ("Effective", "effective[x]"), ("Issued", "issued"), ("Results", "result"),
        ("Conclusion", "conclusion"), ("Conclusion codes", "conclusionCode"),
        ("Presented forms", "presentedForm"), ("Subject", "subject"),
        ("Performer", "performer")]),
    "DocumentReference": ("Document", ("type", "description"), [
        ("Type", "type"), ("Description", "description"), ("Status", "status"),
        ("Date", "date"), ("Category", "category"), ("Content", "content"),
        ("Subject", "subject"), ("Author", "author")]),
    "Procedure": ("Procedure", "code", [
        ("Code", "code"), ("Status", "status"), ("Performed", "performed[x]"),
        ("Body site", "bodySite"), ("Outcome", "outcome"), ("Subject", "subject"),
        ("Note", "note")]),
    "Encounter": ("Encounter", "type", [
        ("Class", "class"), ("Type", "type"), ("Status", "status"), ("Period", "period"),
        ("Reason", "reasonCode"), ("Hospitalization", "hospitalization"),
        ("Subject", "subject")]),
    "Composition": ("Composition", "title", [
        ("Title", "title"), ("Type", "type"), ("Status", "status"), ("Date", "date"),
        ("Author", "author"), ("Sections", "section"), ("Subject", "subject")]),
}
_GENERIC_NAMES = ("code", "type", "vaccineCode", "medicationCodeableConcept", "title", "name",
                  "description")


def _clean(text):
    """Text a record field accepts: no control characters but newlines and tabs."""
    return "".join(ch for ch in str(text) if ch in "\n\t" or
                   unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn"))


def as_list(value):
    """A FHIR list element as a list, whatever the file held (one value, or none)."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def value_text(value):
    """One FHIR value in words, every number as written and every code with its system."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal, str)):
        return str(value)
    if isinstance(value, list):
        return "; ".join(value_text(item) for item in value if item not in (None, "", [], {}))
    if not isinstance(value, dict):
        return str(value)
    if "coding" in value or ("text" in value and len(value) <= 2):  # CodeableConcept
        codings = "; ".join(value_text(coding) for coding in as_list(value.get("coding")))
        if value.get("text"):
            return f"{value_text(value['text'])} [{codings}]" if codings else \
                value_text(value["text"])
        return codings
    if "code" in value and "system" in value and "value" not in value:  # Coding
        shown = f"{value_text(value['system'])}|{value_text(value['code'])}"
        return f"{value_text(value['display'])} ({shown})" if value.get("display") else shown
    if "value" in value and ("unit" in value or "code" in value or "system" in value):  # Quantity
        unit = value_text(value.get("unit") or value.get("code") or "")
        coded = f" ({value_text(value['system'])}|{value_text(value['code'])})" \
            if value.get("system") and value.get("code") else ""
        comparator = value_text(value.get("comparator") or "")
        return f"{comparator}{value_text(value['value'])} {unit}".strip() + coded
    if "reference" in value or ("display" in value and len(value) <= 3):  # Reference
        display = value_text(value["display"]) if value.get("display") else ""
        target = f"({value_text(value['reference'])})" if value.get("reference") else ""
        return " ".join(part for part in (display, target) if part)
    if set(value) <= {"start", "end"}:  # Period
        return f"{value_text(value.get('start', '…'))} to {value_text(value.get('end', '…'))}"
    return ", ".join(f"{name}: {value_text(item)}" for name, item in value.items()
                     if name not in ("id", "extension", "modifierExtension")
                     and not name.startswith("_")
                     and item not in (None, "", [], {}))


def _element(resource, element):
    """(name as found, value) of an element; a choice element `value[x]` in whichever form."""
    if element.endswith("[x]"):
        stem = element[:-3]
        for name, value in resource.items():
            if name.startswith(stem) and name[len(stem):len(stem) + 1].isupper():
                return name, value
        return None, None
    return element, resource.get(element)


def _one_line(text, limit):
    text = " ".join(_clean(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def title(resource):
    kind = resource["resourceType"]
    label, naming, _ = _DESCRIBED.get(kind, (kind, _GENERIC_NAMES, ()))
    names = (naming,) if isinstance(naming, str) else naming
    for element in names:
        _, value = _element(resource, element)
        if value not in (None, "", [], {}):
            shown = value_text(value)
            if isinstance(value, dict) and value.get("text"):
                shown = value_text(value["text"])
            elif isinstance(value, dict):
                first = next((coding for coding in as_list(value.get("coding"))
                              if isinstance(coding, dict)), {})
                shown = value_text(first.get("display") or shown)
            return _one_line(f"{label}: {shown} (FHIR import)", TITLE_LENGTH)
    return _one_line(f"{label} {value_text(resource.get('id', ''))} (FHIR import)", TITLE_LENGTH)


def description(resource, notes=()):
    """Labelled lines of the resource's clinical values, then the import's notes."""
    kind = resource["resourceType"]
    _, _, described = _DESCRIBED.get(kind, (kind, None, ()))
    lines = [f"FHIR R4 {kind}" + (f" {resource['id']}" if resource.get("id") else "")]
    for label, element in described:
        name, value = _element(resource, element)
        if value not in (None, "", [], {}):
            shown = f"{label} ({name})" if element.endswith("[x]") else label
            lines.append(f"{shown}: {value_text(value)}")
    if not described:
        lines.extend(f"{name}: {value_text(value)}" for name, value in resource.items()
                     if name not in ("resourceType", "id", "meta", "text", "contained")
                     and not name.startswith("_") and value not in (None, "", [], {}))
    lines.extend(f"Note from the import: {note}" for note in notes)
    text = _clean("\n".join(lines))
    if len(text) > TEXT_LENGTH:
        text = text[:TEXT_LENGTH - len(_CUT)] + _CUT
    return text
