"""Who is calling the API: a personal API token (`Authorization: Bearer mlt_…`) or the web
session, checked on every request; and the guard every data route wears.

The Bearer header is read here and nowhere else: a token sent to any other page of the site
does nothing. A token request never gets a session cookie (Flask-Login is not asked to log
anyone in: the account is kept in `g` for this request only), so CSRF cannot apply to it.
An Authorization header that is present decides, even beside a session cookie: a bad token
is a 401, never a silent fall-back to the session.
"""
from functools import wraps

from flask import Response, current_app, g, request
from flask_login import current_user

from blueprints.fhir import bp
from blueprints.fhir.outcome import ACCEPTED, FORMATS, error, unauthorized
from blueprints.guards import PUBLIC
from models.people import api_tokens, two_factor, users
from models.storage.db import get_db

READ_METHODS = ("GET", "HEAD")
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
"""Routes take every method so that a write is answered 405 as an OperationOutcome here
(routing's own 405 would be the site's HTML error page), and OPTIONS names only the methods
that work (Flask's automatic answer would list them all); no CORS header either way."""


@bp.before_request
def identify():
    g.fhir_viewer = None
    negotiated = _refused_format()
    if negotiated is not None:
        return negotiated
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return unauthorized("Send your personal API token as: Authorization: Bearer <token>.",
                                "invalid_request")
        account = api_tokens.authenticate(get_db(), credentials.strip())
        if account is None:
            return unauthorized("The token is unknown, expired or revoked, or its account cannot "
                                "sign in.", "invalid_token")
        g.fhir_viewer = account
    elif current_user.is_authenticated:
        g.fhir_viewer = current_user.doc
    return None


def _refused_format():
    """406 unless the caller accepts FHIR JSON (`_format` overrides Accept, as FHIR says)."""
    wanted = request.args.get("_format")
    if wanted is not None:
        return None if wanted.strip().lower() in FORMATS else error(
            406, f"_format={wanted[:40]} is not offered: this API answers JSON only.")
    if request.accept_mimetypes and not request.accept_mimetypes.best_match(ACCEPTED):
        return error(406)
    return None


def _read_only(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method == "OPTIONS":
            return Response(status=204, headers={"Allow": "GET, HEAD, OPTIONS"})
        if request.method not in READ_METHODS:
            return error(405, headers={"Allow": "GET, HEAD, OPTIONS"})
        return view(*args, **kwargs)
    return wrapper


def open_to_all(view):
    """The CapabilityStatement: anyone may read what the server offers (clients discover the
    server before they authenticate)."""
    wrapper = _read_only(view)
    wrapper.allowed_roles = PUBLIC
    wrapper.api = True
    return wrapper


def api_reader(view):
    """A data route: an authenticated account of any role, called as `view(viewer, ...)`; the
    access decision then says what it may read (deny by default). An account that must still
    set its password, a doctor whose licence is not verified, or a role that must use two-factor
    sign-in and has not set it up (by token or by session: the pages confine it to enrolment,
    the API refuses it), reads nothing. A token of an enrolled account needs no code: it was
    made in a session that passed the code step (docs/security.md)."""
    @wraps(view)
    def guarded(*args, **kwargs):
        viewer = g.get("fhir_viewer")
        if viewer is None:
            return unauthorized()
        if viewer.get("must_set_password"):
            return error(403, "Set your password on the site first.")
        if users.User(viewer).needs_verification:
            return error(403, "Your licence is not verified yet.")
        if two_factor.missing(get_db(), viewer, current_app.config["TWO_FACTOR_ROLES"]):
            return error(403, "Set up two-factor sign-in on the site first.")
        return view(viewer, *args, **kwargs)
    wrapper = _read_only(guarded)
    wrapper.allowed_roles = frozenset(users.ROLES)
    wrapper.requires_verification = True
    wrapper.api = True
    return wrapper
