"""CSRF on every form, strict CSP, no inline script or style in any template."""
import pathlib
import re

from app import create_app
from models.people import users
from tests.conftest import PASSWORD, csrf_token_from, make_config

TEMPLATES = pathlib.Path(__file__).resolve().parents[2] / "templates"


def test_csp_forbids_inline_and_foreign_sources(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


def test_security_headers_present(client):
    headers = client.get("/login").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"


def test_no_template_has_inline_script_or_style():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", text), path
        assert " style=" not in text and "<style" not in text, path


def test_assets_are_served_locally(client):
    html = client.get("/login").get_data(as_text=True)
    assert "cdn" not in html.lower()
    for src in re.findall(r'(?:src|href)="([^"]+\.(?:css|js))"', html):
        assert src.startswith("/"), src
        response = client.get(src)
        assert response.status_code == 200, src
        response.close()


def test_forms_need_a_csrf_token(tmp_path):
    app = create_app(make_config(tmp_path, WTF_CSRF_ENABLED=True))
    client = app.test_client()
    with app.app_context():
        from models.storage.db import get_db
        users.create_user(get_db(), username="pat1", role=users.PATIENT, name="P",
                          password=PASSWORD, rounds=4)
    response = client.post("/login", data={"username": "pat1", "password": PASSWORD})
    assert response.status_code == 400
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert token
    response = client.post("/login", data={"username": "pat1", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
