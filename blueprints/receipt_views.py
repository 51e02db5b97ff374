"""Receipt pages shared by patients (own records) and doctors (records they wrote).

The role blueprints register thin routes; the ownership rule lives in models.clinical.receipts.
"""
import json

from flask import Response, current_app, render_template
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from blueprints.form_errors import show_on_form
from models.clinical import receipts
from models.core import record_types
from models.core.errors import DomainError
from models.sealing import verifier_kit
from models.storage.db import get_db

ENVELOPE_LABELS = {
    "patient": "Patient", "author": "Written by", "author_role": "Writer's role",
    "organization": "Organization", "type": "Kind of record", "sensitivity": "Sensitivity",
    "created_at": "Date written", "supersedes": "Version it replaces", "attachments": "Files",
    "status": "Status", "reason": "Reason", "by": "By", "at": "When",
}
"""Readable names of the sealed attributes that are not clinical values."""


class ReceiptForm(FlaskForm):
    disclose = SelectMultipleField("Disclose these attributes (optional)", choices=[],
                                   widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput(),
                                   description="Leave all unticked to prove only that this "
                                               "version is on the ledger, revealing nothing.")
    submit = SubmitField("Download receipt")


def _label(doc, name):
    """What a sealed attribute is, in words (its technical name stays in the receipt)."""
    spec = record_types.get(doc["type"])
    if name.startswith("data.") and spec is not None:
        field_name = name[len("data."):]
        for field in spec.fields:
            if field.name == field_name:
                return field.label_with_unit
        derived = getattr(spec, "derived_labels", {}) or {}
        if field_name in derived:
            return derived[field_name]
        return field_name.replace("_", " ").capitalize()
    return ENVELOPE_LABELS.get(name, name.replace("_", " ").capitalize())


def keys_download():
    return Response(verifier_kit.keys_json(), mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename={verifier_kit.KEYS_NAME}"})


def checker_download():
    return Response(verifier_kit.checker_zip(), mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename={verifier_kit.CHECKER_NAME}"})


def _kit(endpoint, doc=None):
    """Links and the command line a receipt page explains (`endpoint`: the area's prefix)."""
    area = endpoint.split(".")[0]
    name = f"receipt-{doc['record_id']}-v{doc['version']}.json" if doc else "receipt.json"
    return {"keys_endpoint": f"{area}.receipt_keys", "checker_endpoint": f"{area}.receipt_checker",
            "check_command": verifier_kit.command(name),
            "type_label": record_types.TYPE_LABELS.get(doc["type"], doc["type"]) if doc else ""}


def list_page(endpoint):
    versions = receipts.receipt_versions(get_db(), current_user.doc)
    return render_template("receipts/list.html", versions=versions, endpoint=endpoint,
                           type_labels=record_types.TYPE_LABELS, **_kit(endpoint))


def receipt_page(endpoint, record_id, version):
    db = get_db()
    doc = receipts.require_version(db, current_user.doc, record_id, version)
    form = ReceiptForm()
    data_key = current_app.extensions["medledger"]["data_key"]
    try:
        names = receipts.attribute_names(data_key, doc)
    except DomainError as exc:
        return render_template("receipts/form.html", doc=doc, form=None, endpoint=endpoint,
                               problem=exc.message, **_kit(endpoint, doc)), exc.status
    form.disclose.choices = [SelectChoice(name, _label(doc, name)) for name in names]
    if not form.is_submitted():
        return render_template("receipts/form.html", doc=doc, form=form, endpoint=endpoint,
                               **_kit(endpoint, doc))
    status = 400
    if form.validate():
        try:
            receipt = receipts.build(db, current_user.doc, doc["record_id"], doc["version"],
                                     form.disclose.data or [])
        except DomainError as exc:
            status = show_on_form(form, exc, "disclose")
        else:
            current_app.logger.info("receipt for %s v%s taken by %s (%d attributes disclosed)",
                                    doc["record_id"], doc["version"], current_user.human_id,
                                    len(form.disclose.data or []))
            name = f"receipt-{doc['record_id']}-v{doc['version']}.json"
            return Response(json.dumps(receipt, indent=2, ensure_ascii=False) + "\n",
                            mimetype="application/json", headers={
                                "Content-Disposition": f"attachment; filename={name}",
                                "Cache-Control": "no-store"})
    return render_template("receipts/form.html", doc=doc, form=form, endpoint=endpoint,
                           **_kit(endpoint, doc)), status
