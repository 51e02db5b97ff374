"""Who may use the auditor's pages: every route against every role and anonymous, with real
ids, and the auditor's pages never show a clinical value."""
import re

import pytest

from models.people import users
from models.sealing import checkpoints
from models.storage.db import get_db
from tests.auditor_support import (CLINICAL_SECRETS, ROLES_AND_ANONYMOUS, after_window, login,
                                   populate, web_audit)

PASSWORD = "correct horse battery"


@pytest.fixture
def populated(sealed_world, client):
    """A world with every kind of event, a checkpoint, and one finished audit."""
    made = populate(sealed_world)
    with sealed_world.app.app_context():
        made["checkpoint"] = checkpoints.create(get_db())
    login(client, sealed_world.auditor)
    made["job"] = web_audit(client, sealed_world.app)
    client.post("/logout")
    return made


def auditor_requests(made):
    """(method, url, data) for every auditor route, with ids that exist."""
    cp = made["checkpoint"]
    key_id = cp["key_id"]
    case = made["emergency"]["emergency_id"]
    job = made["job"]["_id"]
    return {
        "auditor.dashboard": ("GET", "/auditor/", None),
        "auditor.public_key": ("GET", f"/auditor/keys/{key_id}.pub", None),
        "auditor.audits": ("GET", "/auditor/audits", None),
        "auditor.audit_start": ("POST", "/auditor/audits", {"held": ""}),
        "auditor.audit_job": ("GET", f"/auditor/audits/{job}", None),
        "auditor.audit_status": ("GET", f"/auditor/audits/{job}/status", None),
        "auditor.audit_report": ("GET", f"/auditor/audits/{job}/report.json", None),
        "auditor.blocks": ("GET", "/auditor/blocks", None),
        "auditor.block": ("GET", "/auditor/blocks/3", None),
        "auditor.checkpoint_list": ("GET", "/auditor/checkpoints", None),
        "auditor.checkpoint_create": ("POST", "/auditor/checkpoints", {}),
        "auditor.checkpoint_download": ("GET", f"/auditor/checkpoints/{cp['size']}/{key_id}.note", None),
        "auditor.checkpoint_compare": ("POST", "/auditor/checkpoints/compare", {"note": cp["note"]}),
        "auditor.emergency_queue": ("GET", "/auditor/emergencies", None),
        "auditor.emergency_case": ("GET", f"/auditor/emergencies/{case}", None),
        "auditor.emergency_review_submit": ("POST", f"/auditor/emergencies/{case}",
                                            {"verdict": "justified", "note": "Seen in ER log"}),
    }


def test_the_matrix_names_every_auditor_route(app, populated):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                 if rule.endpoint.startswith("auditor.")}
    assert endpoints == set(auditor_requests(populated))


def _state(app):
    db = get_db(app)
    return {name: db[name].count_documents({})
            for name in ("audit_jobs", "ledger_checkpoints", "ledger_blocks")} | {
        "review": db.emergencies.find_one({}, {"review_state": 1})["review_state"]}


@pytest.mark.parametrize("role", [r for r in ROLES_AND_ANONYMOUS if r != users.AUDITOR])
def test_everyone_but_the_auditor_is_refused_and_nothing_changes(app, client, make_account,
                                                                  populated, role):
    if role != "anonymous":
        login(client, make_account(role))
    before = _state(app)
    for endpoint, (method, url, data) in auditor_requests(populated).items():
        response = client.open(url, method=method, data=data)
        if role == "anonymous":
            assert response.status_code == 302, endpoint
            assert "/login" in response.headers["Location"], endpoint
        else:
            assert response.status_code == 403, (endpoint, response.status_code)
    assert _state(app) == before


def test_the_auditor_reaches_every_page(app, client, sealed_world, populated, monkeypatch):
    after_window(monkeypatch, populated["emergency"])
    login(client, sealed_world.auditor)
    expected = {"POST": {"auditor.audit_start": 302, "auditor.checkpoint_create": 302,
                         "auditor.checkpoint_compare": 200, "auditor.emergency_review_submit": 302}}
    for endpoint, (method, url, data) in auditor_requests(populated).items():
        response = client.open(url, method=method, data=data)
        assert response.status_code == expected.get(method, {}).get(endpoint, 200), \
            (endpoint, response.status_code)


def _links(html):
    return set(re.findall(r'href="(/auditor/[^"#]*)"', html))


def test_no_clinical_value_appears_on_any_auditor_page(app, client, sealed_world, populated):
    """Crawl every auditor page reachable from the overview (every block, every page of the
    explorer, reports, downloads) and look for the distinctive clinical values seeded."""
    login(client, sealed_world.auditor)
    # An audit whose report names a clinical attribute (but must not show its value).
    db = get_db(app)
    general = populated["records"]["general"]
    db.records.update_one({"_id": general["_id"]}, {"$set": {"sensitivity": "restricted"}})
    tampered = web_audit(client, app)
    assert tampered["report"]["problems"], "the edit should have been found"
    seen, queue = set(), ["/auditor/", f"/auditor/audits/{tampered['_id']}",
                          f"/auditor/audits/{tampered['_id']}/status"]
    queue += [f"/auditor/blocks/{h}" for h in range(db.ledger_blocks.count_documents({}))]
    queue += [f"/auditor/emergencies/{populated['emergency']['emergency_id']}",
              "/auditor/blocks?before=10", "/auditor/blocks?kind=record.created",
              f"/auditor/blocks?subject={general['record_id']}", "/auditor/blocks?height=5",
              "/auditor/blocks?day=" + general["created_at"].date().isoformat()]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.get_data(as_text=True)
        for secret in CLINICAL_SECRETS:
            assert secret not in body, (secret, url)
        if response.mimetype == "text/html":
            queue.extend(link.replace("&amp;", "&") for link in _links(body) - seen)
    assert len(seen) > 30
    assert any(url.startswith("/auditor/blocks?") for url in seen)
    assert any(url.endswith(".note") for url in seen)
    assert any(url.endswith("report.json") for url in seen)
