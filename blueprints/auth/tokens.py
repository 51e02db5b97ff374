"""Personal API tokens, in the area where each person manages their own account: create one
(shown once), see them (name, created, last used, expires), revoke one. Every role may hold
tokens: what a token reads is decided per record by the same access decision as the pages."""
from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.auth import bp
from blueprints.auth.forms import RevokeTokenForm, TokenForm
from blueprints.form_errors import submitted
from blueprints.guards import login_required
from models.core.clock import now_ms
from models.people import api_tokens
from models.storage.db import get_db


def _page(form, created=None, token=None, status=200):
    response = make_response(render_template(
        "auth/tokens.html", form=form, revoke_form=RevokeTokenForm(), created=created,
        token=token, tokens=api_tokens.for_user(get_db(), current_user.doc),
        now=now_ms()), status)
    response.headers["Cache-Control"] = "no-store"  # the new token must not sit in a cache
    return response


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = TokenForm()
    if request.method == "GET":
        return _page(form)
    made, status = submitted(form, lambda: api_tokens.create(
        get_db(), current_user.doc, form.name.data, form.expires_days))
    if made is None:
        return _page(form, status=status)
    created, token = made
    return _page(TokenForm(formdata=None), created=created, token=token, status=201)


@bp.route("/tokens/<token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        return _page(TokenForm(formdata=None), status=400)
    revoked = api_tokens.revoke(get_db(), current_user.doc, token_id)
    flash(f"Token “{revoked['name']}” ({revoked['token_id']}) is revoked: it stopped working "
          "at once.", "success")
    return redirect(url_for("auth.tokens"))
