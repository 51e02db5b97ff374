"""The IDOR and role matrices, derived from the url_map: a route added tomorrow with an argument
in its path fails here until tests/access/matrix_registry.py says who owns what it points at.

- IDOR: every route with an id in its path is tried, with a fresh object of the inside, by a
  stranger of every role (another patient, another hospital's desk, manager and doctor,
  another pharmacy's pharmacist...): 403 or 404, no clinical value, nothing changed.
- Roles, the allowed half: every role the route declares gets 2xx/3xx on an object it owns
  (the owner control of the IDOR matrix), or is listed in the registry as reaching nothing
  there by design.
"""
import pytest
from flask import url_for

from models.people import users
from tests.access.matrix_registry import REGISTRY, WITHOUT_OWNER, form_data
from tests.access.matrix_world import NOT_IDS, build_world, leaks
from tests.test_route_guards import routes

STRANGER_ANSWERS = (403, 404)


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("idor"))


def rules_of(w):
    return [rule for rule, _ in routes(w.app) if rule.arguments
            and rule.endpoint not in WITHOUT_OWNER]


def methods(w, rule):
    """GET and POST; the FHIR API answers GET alone (any other method: 405, by design)."""
    if getattr(w.app.view_functions[rule.endpoint], "api", False):
        return ["GET"]
    return [method for method in ("GET", "POST") if method in rule.methods]


def declared(view):
    if view.allowed_roles in ("public", "any-user"):
        return set(users.ROLES)
    return set(view.allowed_roles)


def answer(w, account, rule, case, method):
    with w.app.test_request_context():
        url = url_for(rule.endpoint, **case.kwargs, **case.query)
    client = w.client_of(account)
    if method == "GET":
        return client.get(url)
    return client.post(url, data=form_data(case.data))


ENDPOINTS = sorted(REGISTRY)
ROLE_CELLS = [(endpoint, role) for endpoint in ENDPOINTS for role in REGISTRY[endpoint].owners]


def test_every_route_with_arguments_is_in_the_registry(w):
    """A new route with an argument fails here, naming itself, until it has a builder."""
    endpoints = {rule.endpoint for rule in rules_of(w)}
    assert sorted(endpoints - set(REGISTRY)) == [], "add these to matrix_registry.REGISTRY"
    assert sorted(set(REGISTRY) - endpoints) == [], "these routes are gone"


def test_the_registry_accounts_for_every_declared_role(w):
    """Each declared role either owns something there or is listed as reaching nothing."""
    for rule in rules_of(w):
        entry = REGISTRY[rule.endpoint]
        view = w.app.view_functions[rule.endpoint]
        assert set(entry.owners) | set(entry.never) == declared(view), rule.endpoint
        assert not set(entry.owners) & set(entry.never), rule.endpoint


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_stranger_of_every_role_is_refused(w, endpoint):
    rule = next(rule for rule in rules_of(w) if rule.endpoint == endpoint)
    if not set(rule.arguments) - NOT_IDS:
        pytest.skip("no id in the path: the role matrix covers it")
    entry = REGISTRY[endpoint]
    case = entry.build(w, entry.owners[0])
    before = w.fingerprint()
    for role, stranger in w.strangers.items():
        for method in methods(w, rule):
            if role not in entry.shared:
                response = answer(w, stranger, rule, case, method)
                assert response.status_code in STRANGER_ANSWERS, \
                    (endpoint, role, method, response.status_code)
                assert leaks(response.data) == [], (endpoint, role, method)
    assert w.fingerprint() == before, endpoint
    for role in entry.shared:  # theirs by design: they look, and see no clinical value
        if "GET" in rule.methods:
            response = answer(w, w.strangers[role], rule, case, "GET")
            assert response.status_code < 500, (endpoint, role)
            assert leaks(response.data) == [], (endpoint, role)


@pytest.mark.parametrize("endpoint, role", ROLE_CELLS)
def test_the_owner_of_each_allowed_role_gets_in(w, endpoint, role):
    rule = next(rule for rule in rules_of(w) if rule.endpoint == endpoint)
    case = REGISTRY[endpoint].build(w, role)
    for method in methods(w, rule):
        response = answer(w, case.owner, rule, case, method)
        assert 200 <= response.status_code < 400, (endpoint, role, method, response.status_code)
