"""`flask fhir export PAT-000001 > bundle.json` and `flask fhir export --all DIR`.

Operator exports: everything about a patient (or every patient), each export sealed once as
`record.fhir_exported` with its counts and the SHA-256 of what was written (see
models/exchange/export_log.py); progress and the summary go to stderr, never into the output.
"""
import getpass
import hashlib
import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from models.core.errors import DomainError
from models.exchange import export_log, fhir_export
from models.storage.db import get_db

fhir_cli = AppGroup("fhir", help="HL7 FHIR R4 exports.")
PROGRESS_EVERY = 1000


def _operator():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@fhir_cli.command("export")
@click.argument("patient_id", required=False)
@click.option("--all", "directory", type=click.Path(file_okay=False),
              help="Every patient, as one NDJSON file per resource type in DIRECTORY.")
@click.option("--no-files", is_flag=True,
              help="Do not embed attachment bytes in a patient's Bundle (hash and size only).")
def export_command(patient_id, directory, no_files):
    """A patient's FHIR R4 collection Bundle on standard output (attachments embedded), or
    with --all every patient as FHIR Bulk Data NDJSON (attachments by hash only)."""
    if bool(patient_id) == bool(directory):
        raise click.UsageError("Name one patient (PAT-000001) or give --all DIRECTORY.")
    db, key = get_db(), current_app.extensions["medledger"]["data_key"]
    if directory:
        _export_all(db, key, directory)
    else:
        _export_one(db, key, patient_id.strip().upper(), not no_files)


def _export_one(db, key, patient_id, embed_files):
    try:
        resources = fhir_export.patient_resources(db, key, None, patient_id,
                                                  embed_files=embed_files)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    counts, digest, size = {}, hashlib.sha256(), 0
    out = sys.stdout.buffer  # bytes: the hash sealed is of exactly what was written

    def counted(stream):
        for resource in stream:
            counts[resource["resourceType"]] = counts.get(resource["resourceType"], 0) + 1
            yield resource

    for chunk in fhir_export.collection_bundle(counted(resources),
                                               base=current_app.config.get("FHIR_BASE_URL")):
        data = chunk.encode("utf-8")
        out.write(data)
        digest.update(data)
        size += len(data)
    out.write(b"\n")
    out.flush()
    entry = export_log.seal_export(db, scope=patient_id, patients=1, counts=counts, size=size,
                                   sha256=digest.hexdigest(), operator=_operator())
    click.echo(f"Exported {sum(counts.values())} resources of {patient_id} ({size} bytes, "
               f"sha256 {digest.hexdigest()}), sealed at height {entry['sealed_height']}.",
               err=True)


def _export_all(db, key, directory):
    def progress(done):
        if done % PROGRESS_EVERY == 0:
            click.echo(f"{done} patients exported", err=True)

    manifest = fhir_export.export_all(db, key, directory, progress=progress)
    files = {item["url"]: item["sha256"] for item in manifest["output"]}
    counts = {item["type"]: item["count"] for item in manifest["output"]}
    # The export's own hash: of the file hashes in name order (each file checks on its own).
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()
    entry = export_log.seal_export(db, scope=export_log.ALL, patients=manifest["patients"],
                                   counts=counts, size=manifest["bytes"], sha256=digest,
                                   operator=_operator(), files=files)
    click.echo(f"Exported {manifest['patients']} patients: {sum(counts.values())} resources in "
               f"{len(files)} files, {manifest['bytes']} bytes, in {directory} "
               f"(manifest.json); sealed at height {entry['sealed_height']}.", err=True)


def register(app):
    app.cli.add_command(fhir_cli)
