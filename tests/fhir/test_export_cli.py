"""`flask fhir export`: one patient's Bundle on stdout, every patient as Bulk Data NDJSON; each
export sealed once (counts and the SHA-256 of what was written), no read sealed per record."""
import hashlib
import json

from models.exchange import fhir_json
from tests.fhir.validation import check_bundle, check_resource
from tests.records.world import PDF, upload, world  # noqa: F401


def _exports(world):
    return world.count("ledger_blocks", {"kind": "record.fhir_exported"})


def test_the_cli_writes_a_valid_bundle_and_seals_the_export(world, runner):
    world.write(world.doctor, "general")
    world.write(world.patient, "patient_provided", uploads=[upload(PDF)])
    result = runner.invoke(args=["fhir", "export", world.patient["human_id"].lower()])
    assert result.exit_code == 0, result.output
    bundle = fhir_json.loads(result.stdout)
    check_bundle(bundle)
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds[0] == "Patient" and "Observation" in kinds and "DocumentReference" in kinds
    assert world.count("record_reads") == 0 and _exports(world) == 1
    entry = world.find_one("fhir_exports", {})
    assert entry["scope"] == world.patient["human_id"] and entry["sealed_height"] is not None
    assert entry["sha256"] == hashlib.sha256(result.stdout_bytes.rstrip(b"\n")).hexdigest()
    assert entry["counts"]["Patient"] == 1 and sum(entry["counts"].values()) == len(kinds)
    assert "sealed at height" in result.stderr


def test_the_cli_refuses_an_unknown_patient_or_no_target(world, runner):
    assert runner.invoke(args=["fhir", "export", "PAT-999999"]).exit_code == 1
    assert runner.invoke(args=["fhir", "export"]).exit_code == 2
    assert _exports(world) == 0


def test_bulk_export_writes_ndjson_lines_that_each_validate(world, runner, tmp_path):
    world.write(world.doctor, "general")
    world.write(world.doctor, "diagnosis")
    world.write(world.doctor, "allergy", patient=world.other_patient)
    world.grant(world.colleague["human_id"])
    out = tmp_path / "bulk"
    result = runner.invoke(args=["fhir", "export", "--all", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["patients"] == 2
    seen = {}
    for item in manifest["output"]:
        data = (out / item["url"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"]
        lines = data.decode().splitlines()
        assert len(lines) == item["count"]
        for line in lines:
            resource = fhir_json.loads(line)
            assert resource["resourceType"] == item["type"]
            check_resource(resource)
            key = f"{resource['resourceType']}/{resource['id']}"
            assert key not in seen  # a Practitioner shared by two patients is written once
            seen[key] = resource
    patients = {ref for ref in seen if ref.startswith("Patient/")}
    assert patients == {f"Patient/{world.patient['human_id']}",
                        f"Patient/{world.other_patient['human_id']}"}
    assert f"Practitioner/{world.doctor['human_id']}" in seen
    assert "Consent" in {item["type"] for item in manifest["output"]}
    entry = world.find_one("fhir_exports", {})
    assert entry["scope"] == "all" and entry["patients"] == 2
    assert entry["files"] == {item["url"]: item["sha256"] for item in manifest["output"]}
    assert world.count("record_reads") == 0 and _exports(world) == 1
