"""HIPAA Safe Harbor de-identification: each exported value in a closed vocabulary.

Safe Harbor (45 CFR 164.514(b)(2)) lists 18 identifier classes that must not leave: names;
geography below the state (except the first three ZIP digits of an area of more than 20,000
people); every date element but the year, and ages over 89; phone and fax numbers; e-mail;
social security, record, health-plan, account, licence, vehicle and device numbers; URLs and
IP addresses; biometrics; photographs; any other unique number or code. Nothing here copies a
source value: each form below maps a value to a band, a year, a code block or a fixed word,
so an exported cell can only ever be one of a known, finite set of strings (free text,
files, names, ids, contact details and full dates have no form at all, so they cannot be
picked). The one unique code in an export is a random subject id (`new_subject_id`), drawn
from `secrets`, never derived from patient data; its mapping to the patient stays in
MedLedger (`exports`), and each export draws new ones, so two exports cannot be joined on it.
"""
import re
import secrets
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from models.core import record_types
from models.research import catalogue

UNKNOWN = "unknown"
NONE = "none"
OVER_89 = "90+"

RESTRICTED_ZIP3 = frozenset((
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878",
    "879", "884", "890", "893"))
"""The three-digit ZIP codes whose areas held 20,000 people or fewer in the 2000 census:
exported as "000". Source: HHS, "Guidance Regarding Methods for De-identification of
Protected Health Information in Accordance with the HIPAA Privacy Rule" (2012), section
3.4 (the 17 codes listed there, from the Census Bureau's 2000 data)."""
ZIP3_MASKED = "000"
_ZIP_RE = re.compile(r"^(\d{5})(?:-?\d{4})?$")

ICD10_CHAPTERS = (
    ("I", "A00", "B99"), ("II", "C00", "D48"), ("III", "D50", "D89"), ("IV", "E00", "E90"),
    ("V", "F00", "F99"), ("VI", "G00", "G99"), ("VII", "H00", "H59"), ("VIII", "H60", "H95"),
    ("IX", "I00", "I99"), ("X", "J00", "J99"), ("XI", "K00", "K93"), ("XII", "L00", "L99"),
    ("XIII", "M00", "M99"), ("XIV", "N00", "N99"), ("XV", "O00", "O99"), ("XVI", "P00", "P96"),
    ("XVII", "Q00", "Q99"), ("XVIII", "R00", "R99"), ("XIX", "S00", "T98"),
    ("XX", "V01", "Y98"), ("XXI", "Z00", "Z99"), ("XXII", "U00", "U99"))
"""WHO ICD-10 (2019) chapters by their first and last three-character category."""
_BLOCK_RE = re.compile(r"^[A-Z][0-9][0-9A-Z]")

BMI_BANDS = ((Decimal("18.5"), "underweight <18.5"), (Decimal("25"), "normal 18.5-24.9"),
             (Decimal("30"), "overweight 25-29.9"))
"""WHO adult BMI categories (kg/m²); 30 and over is "obesity 30+"."""
SYSTOLIC_BANDS = ((120, "<120"), (130, "120-129"), (140, "130-139"), (160, "140-159"))
"""Systolic pressure bands (mmHg); 160 and over is "160+"."""



def new_subject_id():
    """A random per-export subject id: 64 random bits, no patient data in it."""
    return "S" + secrets.token_hex(8)


def year_of(value):
    """"2019" from a date, datetime or ISO date string; "unknown" when there is none."""
    if isinstance(value, (date, datetime)):
        return str(value.year)
    text = str(value or "")
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return text[:4]
    return UNKNOWN


def age_on(date_of_birth, day):
    """Whole years of age on `day` (the birth date is read here and never leaves), or None."""
    try:
        born = date.fromisoformat(str(date_of_birth or "")[:10])
    except ValueError:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def age_band(age):
    """Five-year bands ("40-44"); over 89 → "90+" (Safe Harbor); none → "unknown"."""
    if age is None or age < 0:
        return UNKNOWN
    if age > 89:
        return OVER_89
    low = age // 5 * 5
    return f"{low}-{low + 4}"


def zip3(postcode):
    """The first three digits of a US ZIP code, "000" for the restricted areas, and "000" for
    anything that is not a ZIP code (a postcode whose area's size we cannot know)."""
    match = _ZIP_RE.match(str(postcode or "").strip())
    if not match:
        return ZIP3_MASKED
    prefix = match.group(1)[:3]
    return ZIP3_MASKED if prefix in RESTRICTED_ZIP3 else prefix


def sex(value):
    return value if value in ("female", "male", "other") else UNKNOWN


def diagnosis_group(code):
    """The ICD-10 three-character category ("E11" from "E11.9"); "none" without a code."""
    match = _BLOCK_RE.match(str(code or "").strip().upper())
    return match.group(0) if match else NONE


def chapter_of(group):
    """The ICD-10 chapter ("IV E00-E90") of a three-character category, "none" otherwise."""
    if not _BLOCK_RE.match(group or ""):
        return NONE
    for name, first, last in ICD10_CHAPTERS:
        if first <= group <= last:
            return f"{name} {first}-{last}"
    return NONE


def diagnosis_chapter(code):
    return chapter_of(diagnosis_group(code))


def _band(value, bands, top, number):
    try:
        amount = number(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return UNKNOWN
    for upper, label in bands:
        if amount < upper:
            return label
    return top


def bmi_band(value):
    return UNKNOWN if value is None else _band(value, BMI_BANDS, "obesity 30+", Decimal)


def systolic_band(value):
    return UNKNOWN if value is None else _band(value, SYSTOLIC_BANDS, "160+", int)


FORMS = {
    "age_band": age_band,
    "sex": sex,
    "zip3": zip3,
    "year": year_of,
    "diagnosis_group": diagnosis_group,
    "diagnosis_chapter": diagnosis_chapter,
    "bmi_band": bmi_band,
    "systolic_band": systolic_band,
}
"""Form name → fn(source value) -> exported string. A catalogue field names one of these; a
field without a form cannot be exported."""


def blood_group(abo, rh):
    """"A+" from the two choice fields; "unknown" unless both are known values."""
    if abo in ("A", "B", "AB", "O") and rh in ("+", "-"):
        return abo + rh
    return UNKNOWN


def choice(source, field, value):
    """A choice field's value as it is (it can only be one of the type's listed choices), or
    "none" / "unknown"; never anything typed."""
    spec = next((each for each in record_types.get(source).fields if each.name == field), None)
    if value is None:
        return NONE
    return value if spec is not None and value in dict(spec.choices) else UNKNOWN


VOCABULARIES = {"medication_class": catalogue.medication_class,
                "medication_name": catalogue.medication_name,
                "vaccine": catalogue.vaccine}
"""Typed text exported only through the catalogue's closed vocabularies ("other" otherwise)."""


def cell(spec, data, today):
    """The exported string of catalogue field `spec` from its source: the patient's profile or
    one record's values (`data`); KeyError for a form nothing here implements."""
    value = data.get(spec.source_field)
    if spec.form == "age_band":
        return age_band(age_on(value, today))
    if spec.form == "blood_group":
        return blood_group(data.get("blood_group_abo"), data.get("blood_group_rh"))
    if spec.form == "choice":
        return choice(spec.source, spec.source_field, value)
    if spec.form in VOCABULARIES:
        return NONE if value is None else VOCABULARIES[spec.form](value)
    return FORMS[spec.form](value)
