"""The patient's picker of whom to share with: a search by name, specialty and kind, and a
preview of the one chosen, so nobody has to know a DOC-… or ORG-… id (typing one still works)."""
from flask import request

from blueprints.clinical_forms import GranteeSearchForm
from models.core.errors import InvalidInput, NotFound
from models.people import directory

SEARCH_ARGS = ("q", "kind", "specialty")


def search(db):
    """(search form, results or None): results only when the patient searched."""
    form = GranteeSearchForm(request.args)
    if not any(name in request.args for name in SEARCH_ARGS):
        return form, None
    try:
        return form, directory.find_grantees(db, form.q.data, form.kind.data or "",
                                             form.specialty.data or "")
    except InvalidInput as exc:
        for name, message in exc.field_errors.items():
            field = getattr(form, name, form.q)
            field.errors = list(field.errors) + [message]
        return form, None


def preview(db, grantee_id):
    """The card of whom the patient chose (None when nothing, or nobody shareable, was)."""
    if not (grantee_id or "").strip():
        return None
    try:
        return directory.grantee_card(db, grantee_id)
    except NotFound:
        return None
