"""Every route declares who may use it; every role (and anonymous) is tried on every route.

A view added later without a guard fails here, and so does a guard that lets the wrong role in.
The FHIR API's routes (`view.api`) answer as an API does: 401 with a Bearer challenge instead
of the sign-in page, and OperationOutcome JSON, never a page.

Routes with arguments get dummy ids here, so an allowed role may meet 403/404; that each allowed
role gets in on an object it owns is tests/access/test_idor_matrix.py (the role matrix).
"""
import re

import pytest
from flask import url_for

from blueprints.guards import ANY_USER, PUBLIC
from models.people import users

UNGUARDED_ENDPOINTS = {"static", "bootstrap.static"}
DUMMY_VALUES = {"int": "1", "path": "x", "string": "PAT-999999", "default": "PAT-999999"}


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNGUARDED_ENDPOINTS:
            continue
        yield rule, app.view_functions[rule.endpoint]


def concrete_url(rule):
    def fill(match):
        converter = match.group(1) or "default"
        if converter == "any":  # the first of the values it accepts
            return match.group(2).strip("()").split(",")[0].strip().strip("'\"")
        return DUMMY_VALUES.get(converter, DUMMY_VALUES["default"])
    return re.sub(r"<(?:(\w+)(\([^)]*\))?:)?\w+>", fill, rule.rule)


def method_of(rule):
    return "GET" if "GET" in rule.methods else "POST"


def test_every_route_declares_its_roles(app):
    missing = [rule.rule for rule, view in routes(app) if not hasattr(view, "allowed_roles")]
    assert missing == []


def test_allowed_roles_are_known(app):
    for rule, view in routes(app):
        if view.allowed_roles in (PUBLIC, ANY_USER):
            continue
        assert view.allowed_roles and set(view.allowed_roles) <= set(users.ROLES), rule.rule


def test_anonymous_is_sent_to_login_on_every_guarded_route(app, client):
    for rule, view in routes(app):
        if view.allowed_roles == PUBLIC:
            continue
        response = client.open(concrete_url(rule), method=method_of(rule))
        if getattr(view, "api", False):
            assert response.status_code == 401, rule.rule
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), rule.rule
            assert response.get_json()["resourceType"] == "OperationOutcome", rule.rule
            continue
        assert response.status_code == 302, rule.rule
        assert "/login" in response.headers["Location"], rule.rule


@pytest.mark.parametrize("role", users.ROLES)
def test_each_role_is_refused_where_it_does_not_belong(app, client, auth, make_account, role):
    account = make_account(role)
    assert auth.login(account["username"]).status_code == 302
    for rule, view in routes(app):
        if rule.endpoint == "auth.logout":
            continue
        response = client.open(concrete_url(rule), method=method_of(rule))
        allowed = view.allowed_roles in (PUBLIC, ANY_USER) or role in view.allowed_roles
        if getattr(view, "api", False):
            assert response.mimetype == "application/fhir+json", (role, rule.rule)
        if allowed:
            assert response.status_code != 403 or rule.arguments \
                or getattr(view, "api", False), (role, rule.rule)  # the API decides per patient
            assert response.status_code < 500, (role, rule.rule, response.status_code)
        else:
            assert response.status_code == 403, (role, rule.rule, response.status_code)


def test_only_the_verification_page_is_open_to_an_unverified_doctor(app):
    """The declarations the next test trusts: every guarded route that admits doctors requires
    a verified licence, except the page where the licence is sent."""
    unverified = sorted(rule.endpoint for rule, view in routes(app)
                        if view.allowed_roles not in (PUBLIC, ANY_USER)
                        and users.DOCTOR in view.allowed_roles and not view.requires_verification)
    assert unverified == ["doctor.verification"]


def test_unverified_doctor_reaches_only_the_verification_page(app, client, auth, make_account):
    doctor = make_account(users.DOCTOR, verified=False)
    auth.login(doctor["username"])
    with app.test_request_context():
        verification_page = url_for("doctor.verification")
    for rule, view in routes(app):
        if view.allowed_roles in (PUBLIC, ANY_USER) or users.DOCTOR not in view.allowed_roles:
            continue
        response = client.open(concrete_url(rule), method=method_of(rule))
        if getattr(view, "api", False):  # the API refuses, it does not redirect
            assert response.status_code == 403, rule.rule
            assert response.get_json()["resourceType"] == "OperationOutcome", rule.rule
        elif view.requires_verification:
            assert response.status_code == 302, rule.rule
            assert response.headers["Location"].endswith(verification_page), rule.rule


def _access_map(app):
    result = app.test_cli_runner().invoke(args=["access-map"])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()]
    return {(path, methods): shown for methods, path, shown in rows}, len(rows)


def test_the_access_map_says_who_may_open_each_route(app):
    """`flask access-map`, for a security review: every route once, with its guard's mark."""
    shown, count = _access_map(app)
    assert count == sum(1 for _ in routes(app))
    assert "UNGUARDED" not in shown.values()
    assert shown[("/login", "GET,POST")] == "public"
    assert shown[("/logout", "POST")] == "any-user"
    assert shown[("/account/security", "GET,POST")] == "any-user"
    assert shown[("/admin/", "GET")] == "admin"
    assert shown[("/doctor/", "GET")] == "doctor (doctors: verified licence)"
    assert shown[("/doctor/verification", "GET,POST")] == "doctor"
    for (path, _), access in shown.items():
        roles = access.split(" ")[0].split(",")
        assert access.split(" ")[0] in (PUBLIC, ANY_USER) or set(roles) <= set(users.ROLES), \
            path


def test_a_route_without_a_guard_is_shown_unguarded(app):
    app.add_url_rule("/forgotten", "forgotten", lambda: "open to all")
    assert _access_map(app)[0][("/forgotten", "GET")] == "UNGUARDED"


def test_an_unverified_doctor_may_still_sign_out_and_see_own_security(client, auth,
                                                                     make_account):
    """The licence is asked for on doctors' pages, not on what any signed-in person may do."""
    doctor = make_account(users.DOCTOR, verified=False)
    assert auth.login(doctor["username"]).status_code == 302
    assert client.get("/doctor/").headers["Location"].endswith("/doctor/verification")
    assert client.get("/account/security").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/doctor/verification").status_code == 302  # signed out
