"""Route guards: every view declares who may use it, and a test walks the URL map to check it.

`roles_required(...)` and `public` leave a mark on the view (`allowed_roles`), so a route added
later without a guard fails the route-matrix test.
"""
from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

from models.people import users

PUBLIC = "public"
ENROLMENT = frozenset({"auth.two_factor_setup", "auth.set_password", "auth.logout"})
"""All that an account of a role that must use two-factor sign-in may open before it enrols."""
ANY_USER = "any-user"


def public(view):
    view.allowed_roles = PUBLIC
    return view


def login_required(view):
    """Any signed-in person, whatever the role (e.g. logout, own password)."""
    return _guard(view, ANY_USER, verified=False)


def roles_required(*roles, verified=True):
    """Only these roles; doctors must also hold a verified licence unless `verified=False`."""
    def decorator(view):
        return _guard(view, frozenset(roles), verified)
    return decorator


def access_of(view):
    """Who may open a view, as `flask access-map` prints it: "public", "any-user" or its roles
    (sorted, comma-separated), and whether a doctor must have a verified licence first; None
    for a view with no mark."""
    roles = getattr(view, "allowed_roles", None)
    if roles is None:
        return None
    if roles == PUBLIC:
        return PUBLIC, False
    licence = view.requires_verification and (roles == ANY_USER or users.DOCTOR in roles)
    return (roles if roles == ANY_USER else ",".join(sorted(roles))), licence


def _guard(view, roles, verified):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if current_user.must_set_password and request.endpoint != "auth.set_password":
            return redirect(url_for("auth.set_password"))
        if current_user.needs_two_factor and request.endpoint not in ENROLMENT:
            return redirect(url_for("auth.two_factor_setup"))
        if roles != ANY_USER and current_user.role not in roles:
            abort(403)
        if verified and current_user.needs_verification:
            return redirect(url_for("doctor.verification"))
        return view(*args, **kwargs)
    wrapper.allowed_roles = roles
    wrapper.requires_verification = verified
    return wrapper
