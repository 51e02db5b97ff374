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


@bp.route("/receipts/medledger-ledger-keys.json")
@roles_required(users.PATIENT)
def receipt_keys():
    """The ledger's public keys, for whoever checks a receipt offline."""
    return receipt_views.keys_download()


@bp.route("/receipts/medledger-verify.pyz")
@roles_required(users.PATIENT)
def receipt_checker():
    """The offline checker (runs from any folder: `python medledger-verify.pyz …`)."""
    return receipt_views.checker_download()
