"""Receipts for the patient's own record versions."""
from blueprints import receipt_views
from blueprints.guards import roles_required
from blueprints.patient import bp
from models.people import users


@bp.route("/receipts")
@roles_required(users.PATIENT)
def receipts():
    return receipt_views.list_page("patient.record_receipt")


@bp.route("/records/<record_id>/v<int:version>/receipt", methods=["GET", "POST"])
@roles_required(users.PATIENT)
def record_receipt(record_id, version):
    return receipt_views.receipt_page("patient.record_receipt", record_id, version)
