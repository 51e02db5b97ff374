"""The FHIR Bundle downloads (the patient's own, a doctor's): streamed as they are read.

Who may export what is decided by models.exchange.fhir_export before the first byte, so a
refusal is a plain 403 page; after that the Bundle is written entry by entry.
"""
from flask import Response, current_app, request, stream_with_context

from blueprints import clinical
from models.exchange import fhir_export
from models.storage.db import get_db

MEDIA_TYPE = "application/fhir+json"
API_PATH = "fhir/r4"


def base_url():
    """The FHIR base the entries' fullUrls name: FHIR_BASE_URL if configured (behind a proxy),
    else this app's own read-only API, where each resource can be read again."""
    return current_app.config.get("FHIR_BASE_URL") or request.url_root + API_PATH


def bundle_download(viewer, patient_id):
    resources = fhir_export.patient_resources(get_db(), clinical.data_key(), viewer, patient_id)
    chunks = fhir_export.collection_bundle(resources, base=base_url())
    return Response(stream_with_context(chunks), mimetype=MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{patient_id}-fhir.json"',
        "Cache-Control": "no-store"})
