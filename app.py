"""The application factory: a few register_* steps and nothing else.

`flask --app app run` and `gunicorn 'app:create_app()'` both work.
"""
import atexit
import logging
import os
import secrets
from datetime import datetime, timedelta, timezone

from flask import Flask, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user, session_protected
from werkzeug.middleware.proxy_fix import ProxyFix

import cli
from blueprints import errors, template_helpers, text_input
from config import config_class
from extensions import CONTENT_SECURITY_POLICY, bootstrap, csrf, limiter, login_manager, talisman
from models import startup
from models.people import two_factor, users
from models.storage import authority
from models.storage import db as storage

AREAS = ("auth", "admin", "organization", "doctor", "staff", "desk", "admissions", "patient",
         "auditor", "notifications", "directory", "appointments", "research", "fhir")
PREFIXES = {"auth": None, "fhir": "/fhir/r4"}


def create_app(config=None):
    instance_path = config.get("INSTANCE_PATH") if isinstance(config, dict) else None
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    load_config(app, config)
    text_input.register(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    register_extensions(app)
    register_blueprints(app)
    template_helpers.register(app)
    errors.register(app)
    register_session_rules(app)
    cli.register(app)
    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    if not _is_reloader_parent():
        startup.install(app)
    return app


def load_config(app, config):
    cls = config_class(config.get("ENV_NAME") if isinstance(config, dict) else config)
    app.config.from_object(cls)
    if isinstance(config, dict):
        app.config.update(config)
    cls.validate(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])


def _instance_secret(app):
    """Development only (production refuses to start without SECRET_KEY)."""
    path = os.path.join(app.instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    with open(path) as handle:
        return handle.read().strip()


def _is_reloader_parent():
    """Flask's reloader parent must not start an embedded database server."""
    return os.environ.get("FLASK_DEBUG") in ("1", "true") and os.environ.get("WERKZEUG_RUN_MAIN") != "true"


def register_extensions(app):
    login_manager.init_app(app)
    # No login_view: Flask-Login's own "please sign in" is never reached (blueprints/guards.py
    # redirects to the sign-in page itself; the FHIR API answers 401).
    login_manager.session_protection = "strong"
    # Flask-Login's "strong" mode only marks a *permanent* session not fresh when it comes back
    # from another browser or address, and sessions here are permanent (the idle timeout):
    # the mode is completed below, so such a session is signed out before its user loads.
    session_protected.connect(_sign_out_a_moved_session, app)

    @login_manager.user_loader
    def load_user(user_id):
        db = storage.get_db(app)
        doc = authority.authentic("users", users.get(db, user_id))
        # A disabled account loses its open sessions at the next request, not the next login;
        # an account changed outside the app (its authority check fails) at once, too.
        if not doc or not doc.get("active", True):
            return None
        user = users.User(doc)
        # A role that must use two-factor sign-in and has not enrolled (or was reset) is
        # confined to enrolment by the guards (blueprints/guards.py), from this request on.
        try:
            user.needs_two_factor = two_factor.missing(db, doc, app.config["TWO_FACTOR_ROLES"])
        except authority.Unauthentic:  # its second factor was edited in the database
            return None
        return user

    csrf.init_app(app)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        uri = app.config["MONGO_URI"]
        app.config["RATELIMIT_STORAGE_URI"] = uri if storage.backend(uri) == "mongodb" else "memory://"
    limiter.init_app(app)
    talisman.init_app(app, content_security_policy=CONTENT_SECURITY_POLICY,
                      force_https=app.config["FORCE_HTTPS"],
                      session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
                      strict_transport_security=app.config["SESSION_COOKIE_SECURE"])
    bootstrap.init_app(app)


class _NoClient:
    def close(self):
        pass


def _sign_out_a_moved_session(app, **_):
    """A signed-in session replayed from another browser or address (the identifier Flask-Login
    stored at sign-in no longer matches) is emptied, in "strong" mode, permanent or not. A
    session nobody signed in with (anonymous, or half way through two-factor) has none."""
    mode = app.config.get("SESSION_PROTECTION", app.login_manager.session_protection)
    if mode == "strong" and session.get("_id") is not None:
        session.clear()
        flash("You were signed out: your session was used from another browser or address.",
              "warning")
        logging.getLogger(__name__).warning("a session used from another browser or address "
                                            "was signed out")


def _quiet_rate_limit_storage(limiter):
    """limits' MongoDB storage opens a client in its __del__ if it never opened one, which at
    interpreter exit fails with a traceback (every `flask` command on a mongodb:// URI): give
    it nothing to open."""
    storage = getattr(limiter, "_storage", None)
    if getattr(storage, "_storage", False) is None:
        storage._storage = _NoClient()


atexit.register(_quiet_rate_limit_storage, limiter)


def register_blueprints(app):
    import importlib
    for area in AREAS:
        module = importlib.import_module(f"blueprints.{area}")
        prefix = PREFIXES.get(area, f"/{area}")
        app.register_blueprint(module.bp, url_prefix=prefix)
    app.register_blueprint(errors.bp)


def register_session_rules(app):
    """Idle timeout: a session unused for SESSION_IDLE_MINUTES is signed out."""
    @app.before_request
    def enforce_idle_timeout():
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        now = datetime.now(timezone.utc).timestamp()
        last_seen = session.get("last_seen", now)
        if now - last_seen > app.config["SESSION_IDLE_MINUTES"] * 60:
            logout_user()
            session.clear()
            if request.blueprint == "fhir":
                return None  # the API answers 401 itself, never a redirect to a page
            flash("You were signed out after a period of inactivity.", "info")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        session["last_seen"] = now
        return None

    @app.context_processor
    def inject_roles():
        return {"ROLE_LABELS": users.ROLE_LABELS}
