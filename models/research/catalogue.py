"""The fixed catalogue a study picks its fields from, and the cohort filter's schema.

A researcher never names a record field, never types a field name and never receives free
text or a file: a study asks for keys of FIELDS, each of which says where its value comes from
(a record type's field, or the patient's profile), what kind of column it is for the
k-anonymity gate (quasi-identifier, sensitive, plain) and the de-identified form it is exported
in (`form`, implemented by models.research.deidentify). Values that are typed as text at the
source (a medication's name, a vaccine) are only ever exported through a closed vocabulary
below; anything outside it becomes "other".

The cohort filter (COHORT) says which patients a study covers: record types, a range of years
and, optionally, ICD-10 code prefixes. Pure: nothing here touches the database.
"""
import re
from dataclasses import dataclass

from models.core import record_types
from models.core.clock import now
from models.core.errors import InvalidInput

QUASI, SENSITIVE, PLAIN = "quasi-identifier", "sensitive", "plain"
KINDS = (QUASI, SENSITIVE, PLAIN)
PROFILE = "profile"
"""The source "record type" of the patient's own profile (date of birth, sex, postcode)."""


@dataclass(frozen=True)
class CatalogueField:
    key: str
    label: str
    source: str
    """A record type (models.core.record_types) or PROFILE."""
    source_field: str
    kind: str
    form: str
    """The de-identified form, a name models.research.deidentify implements."""
    description: str

    @property
    def source_label(self):
        if self.source == PROFILE:
            return f"patient profile: {self.source_field}"
        return f"{record_types.TYPE_LABELS[self.source]}: {self.source_field}"


FIELDS = (
    CatalogueField("age_band", "Age band", PROFILE, "date_of_birth", QUASI, "age_band",
                   "Age at the export in 5-year bands (0-4, 5-9, ...); 90 and over as 90+."),
    CatalogueField("sex", "Sex", PROFILE, "sex", QUASI, "sex",
                   "Sex as registered (female, male, other, unknown)."),
    CatalogueField("zip3", "ZIP3", PROFILE, "postcode", QUASI, "zip3",
                   "The first three digits of a US ZIP code; the low-population ZIP3s and any "
                   "other postcode as 000."),
    CatalogueField("year_of_diagnosis", "Year of diagnosis", record_types.DIAGNOSIS, "onset",
                   QUASI, "year", "The year of the onset (else of the record); never a date."),
    CatalogueField("diagnosis_group", "Diagnosis group", record_types.DIAGNOSIS, "code", QUASI,
                   "diagnosis_group",
                   "The ICD-10 3-character category (E11), generalised to its chapter when "
                   "the k-anonymity gate needs it."),
    CatalogueField("clinical_status", "Clinical status", record_types.DIAGNOSIS,
                   "clinical_status", PLAIN, "choice",
                   "Active, recurrence, relapse, inactive, remission or resolved."),
    CatalogueField("bmi_band", "BMI band", record_types.GENERAL, "bmi", SENSITIVE, "bmi_band",
                   "The latest BMI in WHO categories (underweight, normal, overweight, "
                   "obesity)."),
    CatalogueField("systolic_band", "Systolic pressure band", record_types.GENERAL,
                   "systolic_mmhg", SENSITIVE, "systolic_band",
                   "The latest systolic pressure in bands (<120, 120-129, 130-139, 140-159, "
                   "160+ mmHg)."),
    CatalogueField("blood_group", "Blood group", record_types.GENERAL, "blood_group_abo",
                   PLAIN, "blood_group", "ABO and Rh (A+, O-, ...)."),
    CatalogueField("medication_class", "Medication class", record_types.PRESCRIPTION,
                   "medication", SENSITIVE, "medication_class",
                   "The class of each prescribed medication, from a fixed list of generic "
                   "names; any other as other."),
    CatalogueField("medication_name", "Medication", record_types.PRESCRIPTION, "medication",
                   SENSITIVE, "medication_name",
                   "The generic name, only from a fixed list; any other as other."),
    CatalogueField("medication_route", "Route", record_types.PRESCRIPTION, "route", PLAIN,
                   "choice", "Oral, inhaled, topical, ..."),
    CatalogueField("allergy_category", "Allergy category", record_types.ALLERGY, "category",
                   SENSITIVE, "choice", "Medication, food, environment or other."),
    CatalogueField("allergy_severity", "Allergy severity", record_types.ALLERGY, "severity",
                   PLAIN, "choice", "Mild, moderate or severe."),
    CatalogueField("imaging_modality", "Imaging modality", record_types.IMAGING, "modality",
                   PLAIN, "choice", "X-ray, CT, MRI, ultrasound, PET, mammography or other."),
    CatalogueField("vaccine", "Vaccine", record_types.IMMUNIZATION, "vaccine", PLAIN, "vaccine",
                   "The vaccine, only from a fixed list; any other as other."),
)
BY_KEY = {spec.key: spec for spec in FIELDS}
QUASI_IDENTIFIERS = tuple(spec.key for spec in FIELDS if spec.kind == QUASI)
SENSITIVE_FIELDS = tuple(spec.key for spec in FIELDS if spec.kind == SENSITIVE)

MEDICATION_CLASSES = {
    "metformin": "Biguanide (antidiabetic)", "insulin": "Insulin",
    "gliclazide": "Sulfonylurea (antidiabetic)", "amlodipine": "Calcium channel blocker",
    "ramipril": "ACE inhibitor", "lisinopril": "ACE inhibitor", "losartan": "Angiotensin "
    "receptor blocker", "bisoprolol": "Beta blocker", "atorvastatin": "Statin",
    "simvastatin": "Statin", "salbutamol": "Short-acting beta agonist",
    "omeprazole": "Proton pump inhibitor", "amoxicillin": "Penicillin antibiotic",
    "ibuprofen": "NSAID", "paracetamol": "Analgesic", "sertraline": "SSRI antidepressant",
    "levothyroxine": "Thyroid hormone",
}
"""The closed vocabulary a typed medication name is exported through (lower-case generic
name -> class); anything else is "other", so no typed text ever leaves."""
VACCINES = ("Influenza", "Tetanus-diphtheria", "Hepatitis B", "MMR", "COVID-19")
OTHER = "other"

# The cohort filter ------------------------------------------------------------------------

COHORT_TYPES = (record_types.DIAGNOSIS, record_types.GENERAL, record_types.PRESCRIPTION,
                record_types.ALLERGY, record_types.IMMUNIZATION, record_types.IMAGING,
                record_types.LAB_REPORT)
"""The record types a cohort may be drawn from (not notes, patient-provided records or
discharge summaries: they are mostly free text)."""
EARLIEST_YEAR = 1900
MAX_PREFIXES = 20
PREFIX_RE = re.compile(r"^[A-Z](\d{1,2}(\.[0-9A-Z]{1,4})?)?$")
"""An ICD-10 code prefix: a chapter letter (E), a block (E1), a category (E11) or a code
(E11.9)."""
COHORT = {
    "record_types": f"a non-empty subset of {COHORT_TYPES}",
    "years": f"[first, last] calendar years, {EARLIEST_YEAR} to this year, first <= last",
    "diagnosis_prefixes": f"up to {MAX_PREFIXES} ICD-10 prefixes (E, E11, E11.9); empty: any",
}
"""The cohort filter's schema. A patient is in a study's cohort when they have at least one
current record of one of the types dated within the years and, if prefixes are given, at
least one diagnosis whose code starts with one of them (`record_matches`, `code_matches`)."""
MAX_SUPPRESSION_PERCENT = 50
MIN_K, MAX_K = 5, 100


def clean_fields(keys):
    """The chosen catalogue keys in catalogue order, or InvalidInput (unknown key, none)."""
    chosen = {str(key).strip() for key in keys or () if str(key).strip()}
    unknown = sorted(chosen - set(BY_KEY))
    if unknown:
        raise InvalidInput("Choose fields from the catalogue only.",
                           {"fields": f"Not in the catalogue: {', '.join(unknown)[:200]}."})
    if not chosen:
        raise InvalidInput("Choose at least one field.", {"fields": "Choose at least one field."})
    return [spec.key for spec in FIELDS if spec.key in chosen]


def _year(value, field, errors, this_year):
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = "Give a year such as 2021."
        return None
    if not EARLIEST_YEAR <= year <= this_year:
        errors[field] = f"Give a year from {EARLIEST_YEAR} to {this_year}."
        return None
    return year


def clean_prefixes(text):
    """Codes separated by commas, spaces or lines -> sorted unique prefixes, or InvalidInput."""
    items = sorted({item.upper() for item in re.split(r"[\s,;]+", text or "") if item})
    bad = [item for item in items if not PREFIX_RE.match(item)]
    if bad:
        raise InvalidInput("Check the diagnosis codes.", {
            "diagnosis_prefixes": f"Not an ICD-10 prefix: {bad[0][:12]} (write E, E11 or "
                                  "E11.9)."})
    if len(items) > MAX_PREFIXES:
        raise InvalidInput("Too many diagnosis codes.", {
            "diagnosis_prefixes": f"Give at most {MAX_PREFIXES} prefixes."})
    return items


def clean_cohort(*, record_types_chosen, year_from, year_to, diagnosis_prefixes="",
                 this_year=None):
    """The cohort filter as stored, or InvalidInput naming every bad field at once."""
    this_year = this_year or now().year
    errors = {}
    chosen = {str(name) for name in record_types_chosen or ()}
    if not chosen or chosen - set(COHORT_TYPES):
        errors["record_types"] = "Choose one or more of the listed record types."
    first = _year(year_from, "year_from", errors, this_year)
    last = _year(year_to, "year_to", errors, this_year)
    if first is not None and last is not None and first > last:
        errors["year_to"] = "The last year cannot be before the first."
    prefixes = []
    try:
        prefixes = clean_prefixes(diagnosis_prefixes)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    if errors:
        raise InvalidInput("Check the cohort filter.", errors)
    return {"record_types": [name for name in COHORT_TYPES if name in chosen],
            "years": [first, last], "diagnosis_prefixes": prefixes}


def record_matches(cohort, record_type, year):
    """Whether a record of this type, dated in this year, counts for the cohort."""
    first, last = cohort["years"]
    return record_type in cohort["record_types"] and first <= year <= last


def code_matches(cohort, code):
    """Whether a diagnosis code satisfies the cohort's prefixes (any code when there are none)."""
    prefixes = cohort.get("diagnosis_prefixes") or []
    if not prefixes:
        return True
    return bool(code) and any(str(code).upper().startswith(prefix) for prefix in prefixes)


def medication_class(name):
    return MEDICATION_CLASSES.get(" ".join(str(name or "").split()).lower(), OTHER)


def medication_name(name):
    key = " ".join(str(name or "").split()).lower()
    return key if key in MEDICATION_CLASSES else OTHER


def vaccine(name):
    return name if name in VACCINES else OTHER


def describe(keys):
    """[CatalogueField] for stored keys (a data dictionary's rows), in catalogue order."""
    return [spec for spec in FIELDS if spec.key in set(keys)]
