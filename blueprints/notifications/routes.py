"""The notification centre: the list (keyset pages), open one, mark one or all read, and the
person's e-mail settings; the unread count for the navbar (one counter lookup)."""
from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.form_errors import submitted
from blueprints.guards import roles_required
from blueprints.notifications import bp
from blueprints.notifications.forms import MarkForm, SettingsForm
from models.core.errors import InvalidInput
from models.notify import inbox, preferences, text
from models.people import organizations, users
from models.storage.db import get_db

NOTIFIED = (users.PATIENT, users.DOCTOR, users.ORG_MANAGER, users.AUDITOR, users.RESEARCHER)
"""The roles that sealed changes concern (see models.notify.events)."""


def _me():
    return current_user.human_id


@bp.app_context_processor
def navbar_count():
    """`notification_count()` for the navbar: None where the bell is not shown, else the
    unread count, read once per request (one `_id` lookup of the person's counter)."""
    def notification_count():
        if not current_user.is_authenticated or current_user.role not in NOTIFIED \
                or current_user.must_set_password or current_user.needs_verification:
            return None
        if "notification_count" not in g:
            g.notification_count = inbox.unread_count(get_db(), current_user.human_id)
        return g.notification_count
    return {"notification_count": notification_count}


def link_for(note, role):
    """Where a notification leads this role (derived from its target, never stored as a URL)."""
    target = note.get("target") or {}
    kind = target.get("kind")
    if kind == "request":
        if role == users.PATIENT:
            return url_for("patient.request_detail", request_id=target["request"])
        if role == users.DOCTOR:
            return url_for("doctor.my_requests")
        if role == users.ORG_MANAGER:
            return url_for("organization.requests")
    if kind == "grant":
        if role == users.DOCTOR:
            return url_for("doctor.patient", patient_id=target["patient"])
        if role == users.ORG_MANAGER:
            return url_for("organization.requests")
    if kind == "reads" and role == users.PATIENT:
        return url_for("patient.access_log", viewer=target["viewer"])
    if kind == "emergency":
        if role == users.PATIENT:
            return url_for("patient.emergencies")
        if role == users.AUDITOR:
            return url_for("auditor.emergency_case", emergency_id=target["emergency"])
    if kind == "appointment" and role in (users.PATIENT, users.DOCTOR):
        return url_for("appointments.detail", appointment_id=target["appointment"])
    if kind == "admission" and role == users.PATIENT:
        return url_for("admissions.mine")
    if kind == "summary-due" and role == users.DOCTOR:
        return url_for("admissions.summaries")
    if kind == "directory" and role == users.DOCTOR:
        return url_for("directory.doctor", human_id=target["doctor"])
    if kind == "study" and role == users.RESEARCHER:
        return url_for("research.study", study_id=target["study"])
    if kind == "security":
        return url_for("auth.security")
    if kind == "record" and role == users.PATIENT:
        return url_for("patient.record", record_id=target["record"], version=target["version"])
    return url_for("notifications.inbox")


def _before():
    value = request.args.get("before", "")
    return int(value) if value.isdigit() else None


@bp.route("/", endpoint="inbox")
@roles_required(*NOTIFIED)
def inbox_page():
    db = get_db()
    page = inbox.page(db, _me(), before=_before())
    names = {org_id: org["name"] for org_id, org in organizations.by_human_ids(
        db, [(note.get("actor") or {}).get("org") for note in page.items]).items()}
    g.notification_count = page.unread
    return render_template("notifications/list.html", page=page, form=MarkForm(),
                           describe=lambda note: text.describe(note, names),
                           listed_reads=text.listed_reads, kind_labels=text.KIND_LABELS,
                           link_for=lambda note: link_for(note, current_user.role))


def _require_form():
    if not MarkForm().validate_on_submit():
        raise InvalidInput("The form could not be read. Reload and try again.")


@bp.route("/<notification_id>/open", methods=["POST"])
@roles_required(*NOTIFIED)
def open_one(notification_id):
    _require_form()
    note = inbox.mark_read(get_db(), _me(), notification_id)
    return redirect(link_for(note, current_user.role))


@bp.route("/<notification_id>/read", methods=["POST"])
@roles_required(*NOTIFIED)
def mark_read(notification_id):
    _require_form()
    inbox.mark_read(get_db(), _me(), notification_id)
    return redirect(url_for("notifications.inbox", **_kept_page()))


@bp.route("/read-all", methods=["POST"])
@roles_required(*NOTIFIED)
def mark_all_read():
    _require_form()
    marked = inbox.mark_all_read(get_db(), _me())
    flash(f"{marked} notification{'s' if marked != 1 else ''} marked read.", "success")
    return redirect(url_for("notifications.inbox"))


def _kept_page():
    before = request.form.get("before", "")
    return {"before": before} if before.isdigit() else {}


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(*NOTIFIED)
def settings():
    current = preferences.settings(current_user.doc)
    form = SettingsForm(data=current) if request.method == "GET" else SettingsForm()
    status = 200
    if request.method == "POST":
        saved, status = submitted(form, lambda: preferences.update(
            get_db(), current_user.doc, email=form.email.data,
            email_notifications=form.email_notifications.data), fallback_field="email")
        if saved is not None:
            flash("Notification settings saved.", "success")
            return redirect(url_for("notifications.settings"))
    return render_template("notifications/settings.html", form=form), status
