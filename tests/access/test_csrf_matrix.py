"""CSRF on every POST route, derived from the url_map, with CSRF enabled as in production.

Each POST route is sent by its owner's signed-in session (the registry's owner for routes with
arguments, with the registry's valid form; else an account of a role it allows, or anonymous
for public forms), first without a token, then with a token of another session: 400, the CSRF
message, nothing changed. The other tests run with CSRF off, so switching off Flask-WTF's
global check (WTF_CSRF_CHECK_DEFAULT=False: actions without fields then work without a token)
is caught here.
"""
import pytest
from flask import url_for

from blueprints.guards import ANY_USER, PUBLIC
from models.people import users
from tests.access.matrix_registry import REGISTRY, form_data
from tests.access.matrix_world import build_world
from tests.conftest import csrf_token_from
from tests.test_route_guards import routes

CSRF_MESSAGE = "The form expired or was not sent from this site."
API_REASON = ("the FHIR API answers GET alone (any other method: 405) and is used with Bearer "
              "tokens that no browser sends by itself")
EXEMPT = {endpoint: API_REASON for endpoint in (
    "fhir.unknown", "fhir.metadata", "fhir.patient", "fhir.everything", "fhir.search",
    "fhir.read", "fhir.audit_events")}
"""POST routes without CSRF protection on purpose, each with its reason."""
KWARGS = {"fhir.unknown": {"rest": "Basic"}}  # the one route with arguments and no owner


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    world = build_world(tmp_path_factory.mktemp("csrf"), WTF_CSRF_ENABLED=True)
    world.other_token = csrf_token_from(world.app.test_client().get("/login").text)
    assert world.other_token
    return world


def owner_and_request(w, rule):
    """(owner or None for anonymous, url, form) of the POST."""
    view = w.app.view_functions[rule.endpoint]
    if rule.endpoint in REGISTRY:
        entry = REGISTRY[rule.endpoint]
        case = entry.build(w, entry.owners[0])
        owner, kwargs, data = case.owner, case.kwargs, case.data
    else:
        roles = view.allowed_roles
        owner = None if roles == PUBLIC else \
            w.inside[users.PATIENT if roles == ANY_USER else sorted(roles)[0]]
        kwargs, data = KWARGS.get(rule.endpoint, {}), {}
    with w.app.test_request_context():
        return owner, url_for(rule.endpoint, **kwargs), data


def refused_for_csrf(response):
    return response.status_code == 400 and CSRF_MESSAGE in response.text


def test_every_post_without_this_sessions_token_is_refused(w):
    """One pass over the url_map; every route that fails is named at once."""
    problems = []
    for rule, _ in routes(w.app):
        if "POST" in rule.methods:
            problems += post_problems(w, rule)
    assert problems == []


def post_problems(w, rule):
    endpoint = rule.endpoint
    owner, url, data = owner_and_request(w, rule)
    client = w.client_of(owner)
    before, found = w.fingerprint(), []
    for token in (None, w.other_token):
        sent = dict(form_data(data), csrf_token=token) if token else form_data(data)
        response = client.post(url, data=sent)
        if endpoint in EXEMPT:
            if refused_for_csrf(response) or response.status_code not in (404, 405):
                found.append((endpoint, "exempt, yet answered", response.status_code))
        elif not refused_for_csrf(response):
            found.append((endpoint, "token" if token else "no token", response.status_code))
    if w.fingerprint() != before:
        found.append((endpoint, "changed the database"))
    return found


def test_the_exempt_list_names_post_routes(w):
    """An exemption whose route is gone (or answers no POST) is taken off the list."""
    posts = {rule.endpoint for rule, _ in routes(w.app) if "POST" in rule.methods}
    assert set(EXEMPT) <= posts


def test_the_owners_own_token_passes(w):
    """The control: the same kind of request with the session's own token is not refused."""
    client = w.client_of(w.inside[users.PATIENT])
    token = csrf_token_from(client.get("/notifications/").text)
    response = client.post("/notifications/read-all", data={"csrf_token": token})
    assert response.status_code == 302
