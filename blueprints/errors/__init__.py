"""Error pages and the one place where domain errors become status codes."""
from flask import Blueprint, render_template
from flask_wtf.csrf import CSRFError

from models.core.errors import DomainError

bp = Blueprint("errors", __name__)

MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to see this page.",
    404: "There is nothing here.",
    405: "That action is not allowed here.",
    409: "That was already done.",
    413: "The upload is too large.",
    429: "Too many attempts. Wait a minute and try again.",
    500: ("Something went wrong on our side. What you were doing may or may not have been "
          "saved: reload the page to check before you try again (a change cut short is "
          "finished or undone automatically)."),
}


def render_error(code, message=None):
    return render_template("errors/error.html", code=code,
                           message=message or MESSAGES.get(code, "Error")), code


@bp.app_errorhandler(DomainError)
def domain_error(exc):
    return render_error(exc.status, exc.message)


@bp.app_errorhandler(CSRFError)
def csrf_error(exc):
    return render_error(400, "The form expired or was not sent from this site. Reload and try again.")


def register(app):
    for code in (400, 403, 404, 405, 409, 413, 429, 500):
        app.register_error_handler(code, lambda exc, code=code: render_error(code))
