"""The block explorer: keyset pages newest first, filters, and one block with its proof."""
from flask import abort, render_template, request

from blueprints.auditor import bp
from blueprints.auditor.forms import BlockFilterForm
from blueprints.guards import roles_required
from models.people import users
from models.sealing import explorer, trust
from models.storage.db import get_db


def _before():
    value = request.args.get("before", "")
    return int(value) if value.isdigit() else None


@bp.route("/blocks")
@roles_required(users.AUDITOR)
def blocks():
    form = BlockFilterForm(request.args)
    db = get_db()
    if request.args and not form.validate():
        page = explorer.Page([], explorer.chain_size(db))
        return render_template("auditor/blocks.html", form=form, page=page, args={}), 400
    filters = explorer.Filters(kind=form.kind.data or None,
                               subject=(form.subject.data or "").strip() or None,
                               height=form.height.data, day=form.day.data)
    page = explorer.page(db, filters, before=_before())
    args = {key: value for key, value in request.args.items()
            if key in ("kind", "subject", "height", "day") and value}
    return render_template("auditor/blocks.html", form=form, page=page, args=args)


@bp.route("/blocks/<int:height>")
@roles_required(users.AUDITOR)
def block(height):
    db = get_db()
    view = explorer.block_view(db, height, trust.verifiers())
    if view is None:
        abort(404)
    return render_template("auditor/block.html", view=view, block=view.doc,
                           size=explorer.chain_size(db))
