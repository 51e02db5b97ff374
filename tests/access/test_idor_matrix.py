"""The IDOR and role matrices, derived from the url_map: a route added tomorrow with an argument
in its path fails here until tests/access/matrix_registry.py says who owns what it points at.

- IDOR: every route with an id in its path is tried, on a fresh object of the inside, by a
  stranger of every role (another patient, another hospital's desk, manager and doctor,
  another pharmacy's pharmacist...): 403 or 404, no clinical value, nothing changed; then the
  owner gets 2xx/3xx on that same object (the control).
- Roles, the allowed half: every role a route with arguments declares gets 2xx/3xx on an
  object it owns, or is listed in the registry as reaching nothing there by design.
"""
import pytest
from flask import url_for

from models.people import users
from tests.access.matrix_registry import REGISTRY, WITHOUT_OWNER, form_data
from tests.access.matrix_world import NOT_IDS, build_world, leaks, url_map

STRANGER_ANSWERS = (403, 404)
RULES = {rule.endpoint: rule for rule in url_map().iter_rules()
         if rule.arguments and rule.endpoint not in WITHOUT_OWNER}
ID_ENDPOINTS = sorted(endpoint for endpoint, rule in RULES.items()
                      if set(rule.arguments) - NOT_IDS)
ROLE_CELLS = [(endpoint, role) for endpoint in sorted(RULES) if endpoint in REGISTRY
              for role in REGISTRY[endpoint].owners
              if endpoint not in ID_ENDPOINTS or role != REGISTRY[endpoint].owners[0]]
"""Each allowed role's owner control; the first owner of a route with an id is checked in the
stranger test, on the very object the strangers were refused."""


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("idor"))


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


def assert_let_in(w, rule, case, role):
    for method in methods(w, rule):
        response = answer(w, case.owner, rule, case, method)
        assert 200 <= response.status_code < 400, \
            (rule.endpoint, role, method, response.status_code)


def test_every_route_with_arguments_is_in_the_registry():
    """A new route with an argument fails here, naming itself, until it has a builder."""
    assert sorted(set(RULES) - set(REGISTRY)) == [], "add these to matrix_registry.REGISTRY"
    assert sorted(set(REGISTRY) - set(RULES)) == [], "these routes are gone"


def test_the_registry_accounts_for_every_declared_role(w):
    """Each declared role either owns something there or is listed as reaching nothing."""
    for endpoint in RULES:
        entry = REGISTRY[endpoint]
        assert set(entry.owners) | set(entry.never) == declared(w.app.view_functions[endpoint]), \
            endpoint
        assert not set(entry.owners) & set(entry.never), endpoint


@pytest.mark.parametrize("endpoint", ID_ENDPOINTS)
def test_a_stranger_of_every_role_is_refused(w, endpoint):
    rule, entry = RULES[endpoint], REGISTRY.get(endpoint)
    assert entry, f"{endpoint}: add it to matrix_registry.REGISTRY"
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
    assert_let_in(w, rule, case, entry.owners[0])


@pytest.mark.parametrize("endpoint, role", ROLE_CELLS)
def test_the_owner_of_each_allowed_role_gets_in(w, endpoint, role):
    assert_let_in(w, RULES[endpoint], REGISTRY[endpoint].build(w, role), role)
