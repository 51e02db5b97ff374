"""Patients, staff and organizations as FHIR Patient, Practitioner and Organization."""
from models.exchange import fhir_codes as codes
from models.exchange import fhir_people
from models.people import patients, users
from models.storage.db import get_db
from tests.fhir.validation import check_resource


def test_a_patient_carries_identifier_name_sex_birth_date_and_contact(app, world):
    with app.app_context():
        db = get_db()
        patient = patients.register_self(
            db, password="correct horse battery", rounds=4, name="Ilse Ölberg",
            username="ilse", date_of_birth="1961-02-03", sex="female",
            email="ilse@example.org", phone="+49 30 1234567")
        desk_patient, _ = patients.register_at_desk(
            db, world.hospital_b, rounds=4, registered_by=world.manager_b, name="Tom Tay",
            username="tomtay", date_of_birth="1990-01-01", sex="unknown", phone="0123456789")
    resource = fhir_people.patient_resource(patient)
    check_resource(resource)
    assert resource["id"] == patient["human_id"]
    assert resource["identifier"] == [{"use": "official", "system": codes.PATIENT_ID,
                                       "value": patient["human_id"]}]
    assert resource["name"] == [{"use": "official", "text": "Ilse Ölberg"}]
    assert (resource["gender"], resource["birthDate"]) == ("female", "1961-02-03")
    assert {(t["system"], t["value"]) for t in resource["telecom"]} == {
        ("email", "ilse@example.org"), ("phone", "+49 30 1234567")}
    assert "managingOrganization" not in resource
    at_desk = fhir_people.patient_resource(desk_patient)
    check_resource(at_desk)
    assert at_desk["managingOrganization"] == {
        "reference": f"Organization/{world.hospital_b['human_id']}"}
    assert [t["system"] for t in at_desk["telecom"]] == ["phone"]


def test_staff_are_practitioners_with_their_qualification(app, world, make_account):
    cardiologist = make_account(users.DOCTOR, "cardio", name="Cora Heart",
                                org_id=world.hospital_a["human_id"],
                                profile={"specialty": "cardiology"})
    for account, text in ((cardiologist, "Doctor (Cardiology)"), (world.doctor, "Doctor"),
                          (world.pharmacist, "Pharmacist"), (world.lab_tech, "Lab technician")):
        resource = fhir_people.practitioner_resource(account)
        check_resource(resource)
        assert resource["identifier"][0]["system"] == codes.STAFF_ID
        assert resource["identifier"][0]["value"] == account["human_id"]
        assert resource["qualification"] == [{"code": {"text": text}, "issuer": {
            "reference": f"Organization/{account['org_id']}"}}]
        assert "password" not in str(resource) and "actor" not in resource
    admin = fhir_people.practitioner_resource(world.admin)
    check_resource(admin)
    assert "qualification" not in admin


def test_organizations_of_every_kind(world):
    for org, kind in ((world.hospital_a, "Hospital"), (world.hospital_b, "Clinic"),
                      (world.pharmacy, "Pharmacy"), (world.lab, "Laboratory")):
        resource = fhir_people.organization_resource(org)
        check_resource(resource)
        assert resource["id"] == org["human_id"]
        assert resource["identifier"][0] == {"use": "official", "system": codes.ORGANIZATION_ID,
                                             "value": org["human_id"]}
        assert resource["name"] == org["name"]
        assert resource["type"][0]["text"] == kind
        assert resource["type"][0]["coding"][0]["code"] == "prov"


def test_references_name_the_resource_by_human_id():
    assert fhir_people.patient_ref("PAT-000001") == {"reference": "Patient/PAT-000001"}
    assert fhir_people.practitioner_ref("DOC-000002", "Dana") == {
        "reference": "Practitioner/DOC-000002", "display": "Dana"}
    assert fhir_people.organization_ref("ORG-0003") == {"reference": "Organization/ORG-0003"}
    assert fhir_people.person_ref("PAT-000004", users.PATIENT) == {
        "reference": "Patient/PAT-000004"}
    assert fhir_people.person_ref("STF-000005", users.LAB_TECH) == {
        "reference": "Practitioner/STF-000005"}
