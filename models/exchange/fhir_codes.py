"""Every FHIR constant in one place: identifier systems, code systems, codes, units, profiles.

The MedLedger identifier systems are stable URIs (a consumer keys its copies on them, so they
never change once published); terminology URLs are the ones HL7 R4 names. The mapping modules
and the tests read these names instead of spelling a URL or a code twice.
"""

FHIR_VERSION = "4.0.1"

# MedLedger identifier systems ----------------------------------------------------------------
_SID = "http://medledger.local/fhir/sid/"
PATIENT_ID = _SID + "patient-id"            # PAT-000001
STAFF_ID = _SID + "staff-id"                # DOC-000001, STF-000001 (any account but a patient)
ORGANIZATION_ID = _SID + "organization-id"  # ORG-0001
RECORD_ID = _SID + "record-id"              # PAT-000001-R3 (all versions of one record)
RECORD_VERSION = _SID + "record-version"    # PAT-000001-R3/2 (one version)
LEDGER_BLOCK = _SID + "ledger-block"        # a block height, as a string
GRANT_ID = _SID + "grant-id"                # GRT-000001
APPOINTMENT_ID = _SID + "appointment-id"    # APT-000001
ADMISSION_ID = _SID + "admission-id"        # ADN-000001

# MedLedger extensions --------------------------------------------------------------------------
_EXT = "http://medledger.local/fhir/StructureDefinition/"
ATTACHMENT_SHA256 = _EXT + "attachment-sha256"
"""valueString: the file's SHA-256 (hex) as sealed on the ledger. FHIR's Attachment.hash is a
base64 SHA-1 of the bytes, computed only when the bytes are exported."""

# Terminologies -------------------------------------------------------------------------------
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
_THO = "http://terminology.hl7.org/CodeSystem/"
OBSERVATION_CATEGORY = _THO + "observation-category"
CONDITION_CLINICAL = _THO + "condition-clinical"
CONDITION_VERIFICATION = _THO + "condition-ver-status"
CONDITION_CATEGORY = _THO + "condition-category"
ALLERGY_CLINICAL = _THO + "allergyintolerance-clinical"
ALLERGY_VERIFICATION = _THO + "allergyintolerance-verification"
DIAGNOSTIC_SECTION = _THO + "v2-0074"
ORGANIZATION_TYPE = _THO + "organization-type"
V3_CONFIDENTIALITY = _THO + "v3-Confidentiality"
V3_ACT_SITE = _THO + "v3-ActSite"
DATA_ABSENT_REASON = _THO + "data-absent-reason"

# Observation categories --------------------------------------------------------------------------
VITAL_SIGNS = "vital-signs"
LABORATORY = "laboratory"
IMAGING = "imaging"
CATEGORY_DISPLAY = {VITAL_SIGNS: "Vital Signs", LABORATORY: "Laboratory", IMAGING: "Imaging"}


def observation_category(code):
    """[CodeableConcept] for an Observation.category (vital-signs, laboratory, imaging)."""
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code,
                         "display": CATEGORY_DISPLAY[code]}]}]


# Vital signs (FHIR R4 vital-signs profiles) ------------------------------------------------
_SD = "http://hl7.org/fhir/StructureDefinition/"
VITALSIGNS_PROFILE = _SD + "vitalsigns"


class Vital:
    """One vital sign: its LOINC code, display, profile and UCUM unit (code and display)."""

    def __init__(self, loinc, display, profile, unit=None, unit_display=None):
        self.loinc, self.display, self.profile = loinc, display, _SD + profile
        self.unit, self.unit_display = unit, unit_display or unit


BODY_WEIGHT = Vital("29463-7", "Body weight", "bodyweight", "kg")
BODY_HEIGHT = Vital("8302-2", "Body height", "bodyheight", "cm")
BMI = Vital("39156-5", "Body mass index (BMI) [Ratio]", "bmi", "kg/m2")
BLOOD_PRESSURE = Vital("85354-9", "Blood pressure panel with all children optional", "bp")
SYSTOLIC = Vital("8480-6", "Systolic blood pressure", "bp", "mm[Hg]", "mmHg")
DIASTOLIC = Vital("8462-4", "Diastolic blood pressure", "bp", "mm[Hg]", "mmHg")
HEART_RATE = Vital("8867-4", "Heart rate", "heartrate", "/min", "beats/minute")
BODY_TEMPERATURE = Vital("8310-5", "Body temperature", "bodytemp", "Cel", "°C")
OXYGEN_SATURATION = Vital("2708-6", "Oxygen saturation in Arterial blood", "oxygensat", "%")
VITALS = {vital.loinc: vital for vital in (BODY_WEIGHT, BODY_HEIGHT, BMI, BLOOD_PRESSURE,
                                           HEART_RATE, BODY_TEMPERATURE, OXYGEN_SATURATION)}
"""The vital-sign Observations by LOINC code (the BP components are inside the panel)."""
BP_COMPONENTS = {SYSTOLIC.loinc: SYSTOLIC, DIASTOLIC.loinc: DIASTOLIC}

# Blood group: a laboratory Observation, LOINC 882-1 (ABO and Rh group), SNOMED answers.
BLOOD_GROUP_LOINC = "882-1"
BLOOD_GROUP_DISPLAY = "ABO and Rh group [Type] in Blood"
BLOOD_GROUPS = {
    ("A", "+"): ("278149003", "Blood group A Rh(D) positive"),
    ("A", "-"): ("278152006", "Blood group A Rh(D) negative"),
    ("B", "+"): ("278150003", "Blood group B Rh(D) positive"),
    ("B", "-"): ("278153001", "Blood group B Rh(D) negative"),
    ("AB", "+"): ("278151004", "Blood group AB Rh(D) positive"),
    ("AB", "-"): ("278154007", "Blood group AB Rh(D) negative"),
    ("O", "+"): ("278147001", "Blood group O Rh(D) positive"),
    ("O", "-"): ("278148006", "Blood group O Rh(D) negative"),
}

# Reports and documents (LOINC) ----------------------------------------------------------------
IMAGING_STUDY_LOINC = ("18748-4", "Diagnostic imaging study")
IMAGING_FINDINGS_LOINC = ("59776-5", "Procedure findings Narrative")
PROGRESS_NOTE_LOINC = ("11506-3", "Progress note")
DISCHARGE_SUMMARY_LOINC = ("18842-5", "Discharge summary")
PATIENT_NOTE_LOINC = ("51855-5", "Patient Note")
LAB_SECTION = ("LAB", "Laboratory")
RADIOLOGY_SECTION = ("RAD", "Radiology")

DICOM_MODALITIES = {"xray": ("DX", "Digital Radiography"), "ct": ("CT", "Computed Tomography"),
                    "mri": ("MR", "Magnetic Resonance"), "ultrasound": ("US", "Ultrasound"),
                    "pet": ("PT", "Positron emission tomography"),
                    "mammography": ("MG", "Mammography")}
"""MedLedger modality -> DICOM (DCM) modality code; "other" has text only."""

# Medication routes (SNOMED CT) -------------------------------------------------------------
ROUTES = {"oral": ("26643006", "Oral route"), "sublingual": ("37839007", "Sublingual route"),
          "topical": ("6064005", "Topical route"),
          "inhaled": ("447694001", "Respiratory tract route"),
          "intravenous": ("47625008", "Intravenous route"),
          "intramuscular": ("78421000", "Intramuscular route"),
          "subcutaneous": ("34206005", "Subcutaneous route"),
          "rectal": ("37161004", "Rectal route"), "ophthalmic": ("54485002", "Ophthalmic route")}
"""MedLedger route -> SNOMED CT route of administration; "other" has text only."""

# Immunization sites (v3 ActSite) -----------------------------------------------------------
SITES = {"left_arm": ("LA", "left arm"), "right_arm": ("RA", "right arm"),
         "left_thigh": ("LT", "left thigh"), "right_thigh": ("RT", "right thigh")}
"""MedLedger site -> v3 ActSite; "oral", "nasal" and "other" have text only."""

# Allergies --------------------------------------------------------------------------------------
ALLERGY_CATEGORIES = {"medication": "medication", "food": "food", "environment": "environment"}
"""MedLedger category -> AllergyIntolerance.category; "other" has none (no FHIR code fits)."""
CRITICALITY = {"mild": "low", "moderate": "low", "severe": "high"}

# Organizations ------------------------------------------------------------------------------------
PROVIDER = ("prov", "Healthcare Provider")

# Security labels -------------------------------------------------------------------------------
RESTRICTED = {"system": V3_CONFIDENTIALITY, "code": "R", "display": "restricted"}
