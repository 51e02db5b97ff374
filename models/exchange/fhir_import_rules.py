"""What an imported FHIR resource must look like: R4's resource types and, for the types the
import describes, the elements R4 requires (pure: a resource in, a list of problems out).

The app checks structure only; the full R4 schema and the `fhir.resources` models are
test-only tools (tests/fhir/validation.py). A resource that names a type R4 does not have, or
uses an R5 shape where R4 has another one, is "not FHIR R4", never guessed at.
"""
import re

R4_RESOURCE_TYPES = frozenset("""
Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse
AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement
CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition Claim ClaimResponse
ClinicalImpression CodeSystem Communication CommunicationRequest CompartmentDefinition
Composition ConceptMap Condition Consent Contract Coverage CoverageEligibilityRequest
CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric DeviceRequest
DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference EffectEvidenceSynthesis
Encounter Endpoint EnrollmentRequest EnrollmentResponse EpisodeOfCare EventDefinition Evidence
EvidenceVariable ExampleScenario ExplanationOfBenefit FamilyMemberHistory Flag Goal
GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy Immunization
ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan Invoice
Library Linkage List Location Measure MeasureReport Media Medication MedicationAdministration
MedicationDispense MedicationKnowledge MedicationRequest MedicationStatement MedicinalProduct
MedicinalProductAuthorization MedicinalProductContraindication MedicinalProductIndication
MedicinalProductIngredient MedicinalProductInteraction MedicinalProductManufactured
MedicinalProductPackaged MedicinalProductPharmaceutical MedicinalProductUndesirableEffect
MessageDefinition MessageHeader MolecularSequence NamingSystem NutritionOrder Observation
ObservationDefinition OperationDefinition OperationOutcome Organization OrganizationAffiliation
Parameters Patient PaymentNotice PaymentReconciliation Person PlanDefinition Practitioner
PractitionerRole Procedure Provenance Questionnaire QuestionnaireResponse RelatedPerson
RequestGroup ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject
RiskAssessment RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen
SpecimenDefinition StructureDefinition StructureMap Subscription Substance
SubstanceNucleicAcid SubstancePolymer SubstanceProtein SubstanceReferenceInformation
SubstanceSourceMaterial SubstanceSpecification SupplyDelivery SupplyRequest Task
TerminologyCapabilities TestReport TestScript ValueSet VerificationResult VisionPrescription
""".split())
"""The 146 resource types of FHIR R4 (4.0.1), as its JSON schema's discriminator lists them."""

NOT_CLINICAL = frozenset("""
Patient Practitioner PractitionerRole Organization OrganizationAffiliation Location Endpoint
HealthcareService RelatedPerson Person Group Provenance AuditEvent Consent OperationOutcome
MessageHeader Subscription Parameters Bundle Linkage Schedule Slot
CapabilityStatement TerminologyCapabilities StructureDefinition StructureMap ValueSet CodeSystem
ConceptMap NamingSystem OperationDefinition SearchParameter CompartmentDefinition
ImplementationGuide GraphDefinition MessageDefinition ExampleScenario TestScript TestReport
""".split())
"""Types that describe people, places, the exchange itself or the FHIR server's conformance:
reported on the result page but not made into records. Who the patient is stays as registered
here; a Provenance, AuditEvent or Consent from another system proves and grants nothing here.
A Binary is kept (a DocumentReference's content may live in one)."""

BUNDLE_TYPES = ("document", "message", "transaction", "transaction-response", "batch",
                "batch-response", "history", "searchset", "collection")

_OBSERVATION = ("registered", "preliminary", "final", "amended", "corrected", "cancelled",
                "entered-in-error", "unknown")
_REPORT = ("registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
           "cancelled", "entered-in-error", "unknown")
_REQUEST = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")
_INTENT = ("proposal", "plan", "directive", "order", "original-order", "reflex-order",
           "filler-order", "instance-order", "option")

# type: (required elements, {element: allowed codes}); "medication[x]" is any medicationXxx.
REQUIRED = {
    "Observation": (("status", "code"), {"status": _OBSERVATION}),
    "Condition": (("subject",), {}),
    "MedicationRequest": (("status", "intent", "medication[x]", "subject"), {
        "status": ("active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped",
                   "draft", "unknown"),
        "intent": ("proposal", "plan", "order", "original-order", "reflex-order",
                   "filler-order", "instance-order", "option")}),
    "MedicationStatement": (("status", "medication[x]", "subject"), {
        "status": ("active", "completed", "entered-in-error", "intended", "stopped", "on-hold",
                   "unknown", "not-taken")}),
    "MedicationDispense": (("status", "medication[x]"), {
        "status": ("preparation", "in-progress", "cancelled", "on-hold", "completed",
                   "entered-in-error", "stopped", "declined", "unknown")}),
    "MedicationAdministration": (("status", "medication[x]", "subject", "effective[x]"), {
        "status": ("in-progress", "not-done", "on-hold", "completed", "entered-in-error",
                   "stopped", "unknown")}),
    "AllergyIntolerance": (("patient",), {}),
    "Immunization": (("status", "vaccineCode", "patient", "occurrence[x]"), {
        "status": ("completed", "entered-in-error", "not-done")}),
    "DiagnosticReport": (("status", "code"), {"status": _REPORT}),
    "DocumentReference": (("status", "content"), {
        "status": ("current", "superseded", "entered-in-error")}),
    "Procedure": (("status", "subject"), {
        "status": ("preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
                   "entered-in-error", "unknown")}),
    "Encounter": (("status", "class"), {
        "status": ("planned", "arrived", "triaged", "in-progress", "onleave", "finished",
                   "cancelled", "entered-in-error", "unknown")}),
    "Composition": (("status", "type", "date", "author", "title"), {
        "status": ("preliminary", "final", "amended", "entered-in-error")}),
    "CarePlan": (("status", "intent", "subject"), {
        "status": ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error",
                   "unknown"),
        "intent": ("proposal", "plan", "order", "option")}),
    "ServiceRequest": (("status", "intent", "subject"), {"status": _REQUEST, "intent": _INTENT}),
    "FamilyMemberHistory": (("status", "patient", "relationship"), {
        "status": ("partial", "completed", "entered-in-error", "health-unknown")}),
    "Goal": (("lifecycleStatus", "description", "subject"), {}),
    "ImagingStudy": (("status", "subject"), {
        "status": ("registered", "available", "cancelled", "entered-in-error", "unknown")}),
}
"""The known clinical types (those the import describes in words) with R4's minimum
cardinalities and status codes."""

# The shapes an R5 (or later) resource uses where R4 has another one.
_R5_SHAPES = {
    ("MedicationRequest", "medication"): "R5's `medication` (R4 has medicationCodeableConcept "
                                         "or medicationReference)",
    ("MedicationStatement", "medication"): "R5's `medication` (R4 has "
                                           "medicationCodeableConcept or medicationReference)",
    ("MedicationDispense", "medication"): "R5's `medication` (R4 has medicationCodeableConcept "
                                          "or medicationReference)",
    ("MedicationAdministration", "medication"): "R5's `medication` (R4 has "
                                                "medicationCodeableConcept or medicationReference)",
    ("Encounter", "class"): "R5's list of classes (R4 has one Coding)",
}
_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_CHOICE_PREFIX = re.compile(r"^[a-z][A-Za-z]*\[x\]$")


def _present(resource, element):
    """A required element is there: a choice element in any of its forms, a list non-empty."""
    if _CHOICE_PREFIX.match(element):
        stem = element[:-3]
        return any(name.startswith(stem) and name[len(stem):len(stem) + 1].isupper()
                   and resource[name] not in (None, "", [], {}) for name in resource)
    return resource.get(element) not in (None, "", [], {})


def problems(resource):
    """What is wrong with one resource for FHIR R4 (an empty list when nothing is)."""
    if not isinstance(resource, dict):
        return ["the entry's resource is not a JSON object"]
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not kind:
        return ["it has no resourceType, so it is not a FHIR resource"]
    if kind not in R4_RESOURCE_TYPES:
        return [f"{kind} is not a FHIR R4 resource type (this is not FHIR R4)"]
    found = []
    if "id" in resource and not (isinstance(resource["id"], str) and _ID_RE.match(resource["id"])):
        found.append("its id is not a FHIR id (1-64 letters, digits, '-' or '.')")
    for (type_name, element), shape in _R5_SHAPES.items():
        if kind == type_name and element in resource and (
                element != "class" or isinstance(resource[element], list)):
            found.append(f"it uses {shape}: this is not FHIR R4")
    required, codes = REQUIRED.get(kind, ((), {}))
    for element in required:
        if not _present(resource, element):
            found.append(f"{element} is required in an R4 {kind}")
    for element, allowed in codes.items():
        value = resource.get(element)
        if value is not None and value not in allowed:
            found.append(f"{element} {value!r} is not one of R4's codes ({', '.join(allowed)})")
    for element in ("subject", "patient", "code", "vaccineCode"):
        if element in resource and not isinstance(resource[element], dict):
            found.append(f"{element} must be a JSON object")
    if kind == "DocumentReference" and isinstance(resource.get("content"), list):
        if not all(isinstance(item, dict) and isinstance(item.get("attachment"), dict)
                   for item in resource["content"]):
            found.append("each content of a DocumentReference needs an attachment")
    return found
