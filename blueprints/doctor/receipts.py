"""Receipts for the record versions a doctor wrote."""
from blueprints import receipt_views
from blueprints.doctor import bp
from blueprints.guards import roles_required
from models.people import users


@bp.route("/receipts")
@roles_required(users.DOCTOR)
def receipts():
    return receipt_views.list_page("doctor.record_receipt")


@bp.route("/records/<record_id>/v<int:version>/receipt", methods=["GET", "POST"])
@roles_required(users.DOCTOR)
def record_receipt(record_id, version):
    return receipt_views.receipt_page("doctor.record_receipt", record_id, version)


@bp.route("/receipts/medledger-ledger-keys.json")
@roles_required(users.DOCTOR)
def receipt_keys():
    """The ledger's public keys, for whoever checks a receipt offline."""
    return receipt_views.keys_download()


@bp.route("/receipts/medledger-verify.pyz")
@roles_required(users.DOCTOR)
def receipt_checker():
    """The offline checker (runs from any folder: `python medledger-verify.pyz …`)."""
    return receipt_views.checker_download()
