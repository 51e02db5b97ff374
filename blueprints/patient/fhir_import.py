"""The patient's FHIR import (upload a Bundle, see what became of every entry) and their
International Patient Summary shaped document."""
from flask import Response, current_app, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SubmitField

from blueprints import clinical, fhir_download
from blueprints.form_errors import submitted
from blueprints.guards import roles_required
from blueprints.patient import bp
from models.exchange import fhir_import, fhir_json, fhir_summary
from models.people import users
from models.storage.db import get_db


class FhirImportForm(FlaskForm):
    bundle = FileField("FHIR Bundle (JSON)", description="A FHIR R4 Bundle in JSON, as another "
                       "hospital's or app's export gives it.", render_kw={
                           "accept": ".json,application/json,application/fhir+json"})
    submit = SubmitField("Import")


def bundle_limit():
    return current_app.config.get("MAX_FHIR_IMPORT_BYTES", fhir_import.MAX_BUNDLE_BYTES)


def _uploaded_bytes():
    """The chosen file, read up to one byte past the limit (so an oversized one is a 413)."""
    storage = request.files.get(fhir_import.FIELD)
    return storage.stream.read(bundle_limit() + 1) if storage and storage.filename else b""


@bp.route("/fhir-import", methods=["GET", "POST"])
@roles_required(users.PATIENT)
def fhir_import_page():
    form = FhirImportForm()
    status = 200
    if request.method == "POST":
        result, status = submitted(form, lambda: fhir_import.run(
            get_db(), clinical.data_key(), patient=current_user.doc, raw=_uploaded_bytes(),
            limit=bundle_limit(), max_bytes=clinical.max_bytes()), fallback_field="bundle")
        if result:
            current_app.logger.info("fhir import patient=%s entries=%d imported=%d",
                                    current_user.human_id, len(result.entries),
                                    result.count(fhir_import.IMPORTED))
            return render_template("patient/fhir_import_result.html", result=result,
                                   outcomes=fhir_import)
    return render_template("patient/fhir_import.html", form=form,
                           limit=bundle_limit(), max_entries=fhir_import.MAX_ENTRIES,
                           max_writes=fhir_import.MAX_WRITES), status


@bp.route("/summary.ips.json")
@roles_required(users.PATIENT)
def fhir_summary_download():
    document = fhir_summary.document(get_db(), clinical.data_key(), current_user.doc,
                                     base=fhir_download.base_url())
    return Response(fhir_json.dumps(document, indent=2), mimetype=fhir_download.MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="'
                             f'{current_user.human_id}-summary.json"',
                             "Cache-Control": "no-store"})
