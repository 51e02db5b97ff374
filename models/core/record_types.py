"""The clinical record types: their fields, units, plausible ranges and cross-field rules.

Every value is checked on the server and comes back either as a clean value in the canonical
domain (decimals as fixed-point strings, integers, ISO dates, NFC text, or None) or as a
message naming the field, so a form can show each problem next to its input. Nothing here
touches the database.
"""
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from models.core.errors import InvalidInput

GENERAL = "general"
DIAGNOSIS = "diagnosis"
PRESCRIPTION = "prescription"
LAB_REPORT = "lab_report"
IMAGING = "imaging"
ALLERGY = "allergy"
IMMUNIZATION = "immunization"
NOTE = "note"
PATIENT_PROVIDED = "patient_provided"
DISCHARGE_SUMMARY = "discharge_summary"

DECIMAL, INTEGER, CHOICE, TEXT, DATE = "decimal", "integer", "choice", "text", "date"
EARLIEST_DATE = date(1900, 1, 1)
_INTEGER_RE = re.compile(r"^[+-]?\d{1,9}$")
_DECIMAL_RE = re.compile(r"^[+-]?\d{1,9}(\.\d{1,9})?$")
_ALLOWED_CONTROLS = {"\n", "\t"}


def decimal_point(text):
    """"72,5" → "72.5": a single decimal comma (as typed on most European keyboards) becomes
    the point, before validation, so the value checked, stored and sealed is the same
    canonical decimal whichever was typed. Anything else (thousands separators, two commas,
    a comma and a point) is left as it is, and refused as not a number."""
    if text.count(",") == 1 and "." not in text:
        return text.replace(",", ".")
    return text


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = TEXT
    required: bool = False
    unit: str = ""
    low: object = None
    high: object = None
    places: int = 0
    choices: tuple = ()
    max_length: int = 200
    multiline: bool = False
    help: str = ""

    @property
    def label_with_unit(self):
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def clean(self, raw, today):
        """The clean value, or InvalidInput with a message about this field."""
        text = "" if raw is None else str(raw)
        text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
        if not text:
            if self.required:
                raise InvalidInput(f"{self.label} is required.")
            return None
        return {DECIMAL: self._decimal, INTEGER: self._integer, CHOICE: self._choice,
                TEXT: self._text, DATE: self._date}[self.kind](text, today)

    def _range_message(self):
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.label} must be between {self.low} and {self.high}{unit}."

    def _decimal(self, text, today):
        text = decimal_point(text)
        if not _DECIMAL_RE.match(text):
            raise InvalidInput(f"{self.label} must be a number such as {self.high} "
                               f"(digits and at most {self.places} decimal place(s)).")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise InvalidInput(f"{self.label} must be a number.") from None
        if value.as_tuple().exponent < -self.places:
            raise InvalidInput(f"{self.label} takes at most {self.places} decimal place(s).")
        if not Decimal(str(self.low)) <= value <= Decimal(str(self.high)):
            raise InvalidInput(self._range_message())
        return str(value.quantize(Decimal(1).scaleb(-self.places)))

    def _integer(self, text, today):
        if not _INTEGER_RE.match(text):
            raise InvalidInput(f"{self.label} must be a whole number.")
        value = int(text)
        if not self.low <= value <= self.high:
            raise InvalidInput(self._range_message())
        return value

    def _choice(self, text, today):
        if text not in dict(self.choices):
            raise InvalidInput(f"Choose one of the listed values for {self.label.lower()}.")
        return text

    def _text(self, text, today):
        if any(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in _ALLOWED_CONTROLS
               for ch in text):
            raise InvalidInput(f"{self.label} contains characters that cannot be stored.")
        text = unicodedata.normalize("NFC", text)
        if not self.multiline and "\n" in text:
            raise InvalidInput(f"{self.label} must be a single line.")
        if len(text) > self.max_length:
            raise InvalidInput(f"{self.label} is too long (at most {self.max_length} characters).")
        return text

    def _date(self, text, today):
        try:
            value = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"{self.label} must be a date as YYYY-MM-DD.") from None
        if len(text) != 10:
            raise InvalidInput(f"{self.label} must be a date as YYYY-MM-DD.")
        if value > today:
            raise InvalidInput(f"{self.label} cannot be in the future.")
        if value < EARLIEST_DATE:
            raise InvalidInput(f"{self.label} cannot be before {EARLIEST_DATE.isoformat()}.")
        return value.isoformat()


@dataclass(frozen=True)
class RecordType:
    name: str
    label: str
    fields: tuple
    files: bool = False
    summary_field: str = ""
    check: object = None  # fn(values, has_files, failed) -> {field: message}
    derive: object = None  # fn(values) -> {name: value}, for computed values
    derived_labels: dict = field(default_factory=dict)

    def clean(self, raw, today=None, has_files=False):
        """Clean values for every field (None when empty) plus derived values, or InvalidInput."""
        today = today or date.today()
        values, errors = {}, {}
        for spec in self.fields:
            try:
                values[spec.name] = spec.clean(raw.get(spec.name), today)
            except InvalidInput as exc:
                errors[spec.name] = exc.message
                values[spec.name] = None
        if self.check:
            # The cross-field rules run in the same pass (a bad field counts as empty there),
            # so one submit shows every problem; a field keeps its own message first.
            for name, message in self.check(values, has_files, set(errors)).items():
                errors.setdefault(name, message)
        if errors:
            raise InvalidInput("Check the highlighted fields.", errors)
        if self.derive:
            values.update(self.derive(values))
        return values

    @property
    def field_names(self):
        return [spec.name for spec in self.fields] + list(self.derived_labels)


# general (vitals) --------------------------------------------------------------------------

BMI_CATEGORIES = ((Decimal("18.5"), "Underweight"), (Decimal("25.0"), "Normal weight"),
                  (Decimal("30.0"), "Overweight"))


def bmi(weight_kg, height_cm):
    """kg / m² to one decimal (half up), from the decimal strings; never a binary float."""
    metres = Decimal(height_cm) / 100
    return str((Decimal(weight_kg) / (metres * metres)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def bmi_category(value):
    number = Decimal(value)
    for upper, label in BMI_CATEGORIES:
        if number < upper:
            return label
    return "Obesity"


def _general_check(values, has_files, failed=()):
    errors = {}
    if not failed and all(value is None for value in values.values()):
        errors["weight_kg"] = "Enter at least one measurement."
    weight, height = values["weight_kg"], values["height_cm"]
    if (weight is None) != (height is None):
        missing = "height_cm" if height is None else "weight_kg"
        errors[missing] = "Enter weight and height together (the BMI needs both)."
    if (values["blood_group_abo"] is None) != (values["blood_group_rh"] is None):
        missing = "blood_group_rh" if values["blood_group_rh"] is None else "blood_group_abo"
        errors[missing] = "Enter both parts of the blood group (ABO and Rh)."
    systolic, diastolic = values["systolic_mmhg"], values["diastolic_mmhg"]
    if (systolic is None) != (diastolic is None):
        missing = "diastolic_mmhg" if diastolic is None else "systolic_mmhg"
        errors[missing] = "Enter systolic and diastolic pressure together."
    elif systolic is not None and diastolic >= systolic:
        errors["diastolic_mmhg"] = "Diastolic pressure must be lower than systolic pressure."
    return errors


def _general_derive(values):
    if values["weight_kg"] is None or values["height_cm"] is None:
        return {"bmi": None, "bmi_category": None}
    value = bmi(values["weight_kg"], values["height_cm"])
    return {"bmi": value, "bmi_category": bmi_category(value)}


def _patient_provided_check(values, has_files, failed=()):
    if values["symptoms"] is None and "symptoms" not in failed and not has_files:
        return {"symptoms": "Describe your symptoms or attach at least one file."}
    return {}


_ABO = (("A", "A"), ("B", "B"), ("AB", "AB"), ("O", "O"))
_RH = (("+", "Rh positive (+)"), ("-", "Rh negative (−)"))
_CLINICAL_STATUS = (("active", "Active"), ("recurrence", "Recurrence"), ("relapse", "Relapse"),
                    ("inactive", "Inactive"), ("remission", "Remission"), ("resolved", "Resolved"))
_ROUTES = (("oral", "Oral"), ("sublingual", "Sublingual"), ("topical", "Topical"),
           ("inhaled", "Inhaled"), ("intravenous", "Intravenous"),
           ("intramuscular", "Intramuscular"), ("subcutaneous", "Subcutaneous"),
           ("rectal", "Rectal"), ("ophthalmic", "Ophthalmic"), ("other", "Other"))
_MODALITIES = (("xray", "X-ray"), ("ct", "CT"), ("mri", "MRI"), ("ultrasound", "Ultrasound"),
               ("pet", "PET"), ("mammography", "Mammography"), ("other", "Other"))
_SEVERITIES = (("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe"))
_ALLERGY_CATEGORIES = (("medication", "Medication"), ("food", "Food"),
                       ("environment", "Environment"), ("other", "Other"))
_SITES = (("left_arm", "Left arm"), ("right_arm", "Right arm"), ("left_thigh", "Left thigh"),
          ("right_thigh", "Right thigh"), ("oral", "Oral"), ("nasal", "Nasal"), ("other", "Other"))
_ICD10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


def _diagnosis_check(values, has_files, failed=()):
    code = values["code"]
    if code is not None and not _ICD10_RE.match(code.upper()):
        return {"code": "Use an ICD-10 code such as E11.9 (letter, two characters, optional "
                        "dot and up to four more)."}
    return {}


def _diagnosis_derive(values):
    return {"code": values["code"].upper()} if values["code"] else {}


def _discharge_check(values, has_files, failed=()):
    admitted, discharged = values["admitted_on"], values["discharged_on"]
    if admitted and discharged and discharged < admitted:
        return {"discharged_on": "The discharge cannot be before the admission."}
    return {}


TYPES = {t.name: t for t in (
    RecordType(GENERAL, "General (vitals)", (
        Field("weight_kg", "Weight", DECIMAL, unit="kg", low="0.5", high="500", places=1),
        Field("height_cm", "Height", DECIMAL, unit="cm", low="30", high="260", places=1),
        Field("blood_group_abo", "Blood group (ABO)", CHOICE, choices=_ABO),
        Field("blood_group_rh", "Blood group (Rh)", CHOICE, choices=_RH),
        Field("systolic_mmhg", "Blood pressure, systolic", INTEGER, unit="mmHg", low=50, high=260),
        Field("diastolic_mmhg", "Blood pressure, diastolic", INTEGER, unit="mmHg", low=20,
              high=200),
        Field("heart_rate_bpm", "Heart rate", INTEGER, unit="beats/min", low=20, high=250),
        Field("temperature_c", "Temperature", DECIMAL, unit="°C", low="30.0", high="45.0",
              places=1),
        Field("spo2_percent", "SpO2", INTEGER, unit="%", low=50, high=100),
    ), summary_field="bmi", check=_general_check, derive=_general_derive,
        derived_labels={"bmi": "BMI (kg/m², computed)", "bmi_category": "BMI category"}),
    RecordType(DIAGNOSIS, "Diagnosis", (
        Field("code", "ICD-10 code", max_length=10, help="e.g. E11.9"),
        Field("description", "Description", required=True, max_length=500),
        Field("clinical_status", "Clinical status", CHOICE, required=True,
              choices=_CLINICAL_STATUS),
        Field("onset", "Onset", DATE),
    ), summary_field="description", check=_diagnosis_check, derive=_diagnosis_derive),
    RecordType(PRESCRIPTION, "Prescription", (
        Field("medication", "Medication", required=True, max_length=120),
        Field("strength", "Strength", required=True, max_length=40, help="e.g. 500 mg"),
        Field("dose", "Dose", required=True, max_length=40, help="e.g. 1 tablet"),
        Field("route", "Route", CHOICE, required=True, choices=_ROUTES),
        Field("frequency", "Frequency", required=True, max_length=60, help="e.g. twice a day"),
        Field("duration_days", "Duration", INTEGER, required=True, unit="days", low=1, high=365),
        Field("quantity", "Quantity", INTEGER, required=True, unit="units", low=1, high=1000),
        Field("refills", "Refills", INTEGER, required=True, low=0, high=12),
        Field("instructions", "Instructions", max_length=1000, multiline=True),
    ), summary_field="medication"),
    RecordType(LAB_REPORT, "Lab report", (
        Field("test_name", "Test", required=True, max_length=120),
        Field("collected_on", "Sample collected on", DATE),
        Field("results", "Results", required=True, max_length=5000, multiline=True),
        Field("conclusion", "Conclusion", max_length=2000, multiline=True),
    ), files=True, summary_field="test_name"),
    RecordType(IMAGING, "Imaging", (
        Field("modality", "Modality", CHOICE, required=True, choices=_MODALITIES),
        Field("body_site", "Body site", required=True, max_length=120),
        Field("performed_on", "Performed on", DATE),
        Field("findings", "Findings", required=True, max_length=5000, multiline=True),
        Field("conclusion", "Conclusion", max_length=2000, multiline=True),
    ), files=True, summary_field="body_site"),
    RecordType(ALLERGY, "Allergy", (
        Field("substance", "Substance", required=True, max_length=120),
        Field("category", "Category", CHOICE, required=True, choices=_ALLERGY_CATEGORIES),
        Field("reaction", "Reaction", max_length=500),
        Field("severity", "Severity", CHOICE, required=True, choices=_SEVERITIES),
        Field("onset", "Onset", DATE),
    ), summary_field="substance"),
    RecordType(IMMUNIZATION, "Immunization", (
        Field("vaccine", "Vaccine", required=True, max_length=120),
        Field("dose_number", "Dose number", INTEGER, required=True, low=1, high=10),
        Field("administered_on", "Administered on", DATE, required=True),
        Field("lot_number", "Lot number", max_length=40),
        Field("site", "Site", CHOICE, choices=_SITES),
    ), summary_field="vaccine"),
    RecordType(NOTE, "Clinical note", (
        Field("title", "Title", required=True, max_length=200),
        Field("text", "Note", required=True, max_length=10000, multiline=True),
    ), summary_field="title"),
    RecordType(PATIENT_PROVIDED, "Provided by the patient", (
        Field("title", "Title", required=True, max_length=200),
        Field("symptoms", "Symptoms or description", max_length=5000, multiline=True),
    ), files=True, summary_field="title", check=_patient_provided_check),
    RecordType(DISCHARGE_SUMMARY, "Discharge summary", (
        Field("admission_id", "Admission", required=True, max_length=20,
              help="e.g. ADN-000012"),
        Field("admitted_on", "Admitted on", DATE, required=True),
        Field("discharged_on", "Discharged on", DATE, required=True),
        Field("diagnosis", "Diagnosis on discharge", required=True, max_length=500),
        Field("course", "Course in hospital", required=True, max_length=5000, multiline=True),
        Field("medication", "Medication on discharge", max_length=2000, multiline=True),
        Field("follow_up", "Follow-up", max_length=2000, multiline=True),
    ), summary_field="diagnosis", check=_discharge_check),
)}

CLINICIAN_TYPES = tuple(name for name in TYPES if name != PATIENT_PROVIDED)
TYPE_LABELS = {name: spec.label for name, spec in TYPES.items()}


def get(name):
    return TYPES.get(name)


def choice_label(spec, value):
    return dict(spec.choices).get(value, value) if spec.kind == CHOICE else value
