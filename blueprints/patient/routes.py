"""The patient's pages: own records (read-only), own documents, decisions on requests,
sharing and revoking, who saw what, and a download of everything."""
import json

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints import clinical, fhir_download
from blueprints.clinical_forms import (AccessLogFilterForm, ApproveForm, ConfirmForm, GrantForm,
                                       RecordFilterForm, RejectForm, choices, named_records,
                                       prefill, record_form_class, record_values)
from blueprints.form_errors import show_on_form, submitted
from blueprints.guards import roles_required
from blueprints.paging import cursor
from blueprints.patient import bp, sharing
from blueprints.template_helpers import local_time_text
from models.clinical import (audit_trail, patient_export, reading, record_picker, records,
                             summary)
from models.consent import emergency
from models.consent import workflow as consent
from models.core import record_types
from models.core.errors import Conflict, DomainError, InvalidInput
from models.people import patients, users
from models.research import consent as research_consent
from models.research import studies
from models.storage.db import get_db


def _me():
    return current_user.doc


@bp.context_processor
def _own_banner():
    """Every patient page says whose records it shows (from the signed-in account: no query)."""
    signed_in = current_user.is_authenticated and current_user.role == users.PATIENT
    return {"banner": patients.card(current_user.doc) if signed_in else None}


def _duration_choices(max_days):
    pairs = [(days, label) for days, label in consent.DURATIONS if days <= max_days]
    if not any(days == max_days for days, _ in pairs):
        pairs.append((max_days, f"{max_days} days (as asked)"))
    return choices(pairs)


def _describe_scope(scope):
    """A scope in words, named records by their type and date (ids as written in the grant)."""
    if scope.get("kind") != consent.RECORDS:
        return consent.describe_scope(scope)
    named = record_picker.describe(get_db(), current_user.human_id, scope.get("records", []))
    return "Records: " + "; ".join(named)


def _pickable(form, scope=None):
    """Offer the patient's records (within `scope`) as ticks for a named-records scope."""
    form.picked.choices = choices((option["record_id"], option["label"]) for option in
                                  record_picker.options(get_db(), current_user.human_id, scope))
    form.records.label.text = "Or type record ids"
    return form


def _approve_form(req, formdata=None):
    form = ApproveForm(formdata=formdata) if formdata is not None else ApproveForm()
    form.duration_days.choices = _duration_choices(req["duration_days"])
    _pickable(form, req["scope"])
    if formdata is None:
        form.duration_days.data = str(req["duration_days"])
        form.scope.data = req["scope"]["kind"]
        form.types.data = req["scope"].get("types", [])
        form.picked.data = list(req["scope"].get("records", []))
        form.one_time.data = req["one_time"]
    return form


@bp.route("/")
@roles_required(users.PATIENT)
def dashboard():
    db = get_db()
    me = current_user.human_id
    key = clinical.data_key()
    opened = [(current, older, records.data_of(key, current))
              for current, older in records.grouped(records.for_patient(db, me, projection=None))]
    filters = RecordFilterForm(request.args)
    sections, status = [], 200
    if filters.validate():
        try:
            sections = summary.by_type(opened, filters.type.data or None, filters.since.data,
                                       filters.until.data)
        except DomainError as exc:
            status = show_on_form(filters, exc)
    else:
        status = 400
    pending = consent.pending_for_patient(db, me)
    return render_template(
        "patient/dashboard.html", summary=summary.build([(doc, data) for doc, _, data in opened]),
        sections=[(name, label, [(current, older, summary.headline(current, data),
                                  clinical.fields_with_values(record_types.TYPES[name], data),
                                  records.may_amend(_me(), current))
                                 for current, older, data in items])
                  for name, label, items in sections],
        record_count=len(opened), filters=filters, filtered=any(
            (filters.type.data, filters.since.data, filters.until.data)),
        pending=pending, banner=patients.card(_me()),
        approve_forms={req["request_id"]: _approve_form(req) for req in pending},
        emergencies=emergency.page(db, patient_id=me).items[:10], type_labels=record_types.TYPE_LABELS,
        describe_scope=_describe_scope), status


@bp.route("/records/<record_id>/v<int:version>")
@roles_required(users.PATIENT)
def record(record_id, version):
    view = clinical.record_view(get_db(), _me(), record_id, version)
    return render_template("patient/record.html",
                           rows=clinical.fields_with_values(view["spec"], view["data"]),
                           may_amend=records.may_amend(_me(), view["record"]), **view)


@bp.route("/records/<record_id>/v<int:version>/files/<int:index>")
@roles_required(users.PATIENT)
def record_file(record_id, version, index):
    return clinical.send_attachment(get_db(), _me(), record_id, version, index)


@bp.route("/documents/new", methods=["GET", "POST"])
@roles_required(users.PATIENT)
def document_new():
    form = record_form_class(record_types.PATIENT_PROVIDED, with_sensitivity=False)()
    status = 200
    if request.method == "POST":
        doc, status = submitted(form, lambda: records.create(
            get_db(), clinical.data_key(), author=_me(), patient_id=current_user.human_id,
            type_name=record_types.PATIENT_PROVIDED,
            raw=record_values(form, record_types.PATIENT_PROVIDED), uploads=clinical.uploads(),
            max_bytes=clinical.max_bytes()), fallback_field="files")
        if doc:
            flash(f"Your document {doc['record_id']} is saved.", "success")
            return redirect(url_for("patient.dashboard"))
    return render_template("patient/document_new.html", form=form), status


@bp.route("/records/<record_id>/v<int:version>/amend", methods=["GET", "POST"])
@roles_required(users.PATIENT)
def document_amend(record_id, version):
    """A new version of one of the patient's own documents (the old one stays, superseded)."""
    db = get_db()
    # 404 / 403 for others' records
    doc, data = reading.open_for_amendment(db, clinical.data_key(), _me(), record_id, version)
    if not records.may_amend(_me(), doc):
        abort(403)
    form = record_form_class(record_types.PATIENT_PROVIDED, with_sensitivity=False)()
    status = 200
    if request.method == "GET":
        prefill(form, doc["type"], data, doc["sensitivity"])
    else:
        new, status = clinical.save_amendment(db, form, _me(), doc)
        if new:
            flash(f"Version {new['version']} of your document {record_id} is saved.", "success")
            return redirect(url_for("patient.record", record_id=record_id,
                                    version=new["version"]))
    return render_template("patient/document_new.html", form=form, amending=doc), status


@bp.route("/requests/<request_id>")
@roles_required(users.PATIENT)
def request_detail(request_id):
    req = consent.request_for_patient(get_db(), _me(), request_id)
    return render_template("patient/request.html", req=req, form=_approve_form(req),
                           reject_form=RejectForm(), describe_scope=_describe_scope)


@bp.route("/requests/<request_id>/approve", methods=["POST"])
@roles_required(users.PATIENT)
def approve(request_id):
    db = get_db()
    req = consent.request_for_patient(db, _me(), request_id)
    form = _approve_form(req, formdata=request.form)
    status = 400
    if form.validate_on_submit():
        try:
            scope = None
            if request.form.get("scope"):
                scope = consent.clean_scope(db, current_user.human_id, form.scope.data,
                                            form.types.data, named_records(form))
            grant = consent.approve(db, patient=_me(), request_id=req["request_id"], scope=scope,
                                    duration_days=form.duration_days.data,
                                    one_time=form.one_time.data)
        except Conflict:
            raise
        except DomainError as exc:
            status = show_on_form(form, exc)
        else:
            current_app.logger.info("request approved request=%s grant=%s", req["request_id"],
                                    grant["grant_id"])
            flash(f"You approved {req['request_id']}: {grant['grantee_name']} "
                  f"({grant['grantee_id']}) has access until "
                  f"{local_time_text(grant['valid_until'])}.", "success")
            return redirect(url_for("patient.dashboard"))
    return render_template("patient/request.html", req=req, form=form, reject_form=RejectForm(),
                           describe_scope=_describe_scope), status


@bp.route("/requests/<request_id>/reject", methods=["POST"])
@roles_required(users.PATIENT)
def reject(request_id):
    db = get_db()
    req = consent.request_for_patient(db, _me(), request_id)
    form = RejectForm()
    if not form.validate_on_submit():
        raise InvalidInput("The note is too long.")
    consent.reject(db, patient=_me(), request_id=req["request_id"], note=form.note.data)
    flash(f"You rejected {req['request_id']}.", "info")
    return redirect(url_for("patient.dashboard"))


def _grants_page(form, status=200):
    db = get_db()
    page = consent.requests_page(db, patient_id=current_user.human_id, before=cursor())
    search, found = sharing.search(db)
    return render_template("patient/grants.html", form=form, search=search, found=found,
                           chosen=sharing.preview(db, form.grantee.data),
                           grants=consent.grants_for_patient(db, current_user.human_id),
                           requests=page.items, page=page,
                           describe_scope=_describe_scope,
                           research=research_consent.current(db, current_user.human_id),
                           research_history=research_consent.history(db, current_user.human_id),
                           research_studies=studies.approved(db),
                           research_labels=research_consent.CHOICE_LABELS,
                           research_in=research_consent.participates), status


@bp.route("/grants")
@roles_required(users.PATIENT)
def grants():
    form = _pickable(GrantForm())
    form.grantee.data = request.args.get("grantee", "")[:40]  # chosen from the search results
    return _grants_page(form)


@bp.route("/grants/new", methods=["POST"])
@roles_required(users.PATIENT)
def grant_new():
    form = _pickable(GrantForm())
    grant, status = submitted(form, lambda: consent.grant_proactively(
        get_db(), patient=_me(), grantee=form.grantee.data, scope_kind=form.scope.data,
        type_names=form.types.data, record_text=named_records(form), purpose=form.purpose.data,
        duration_days=form.duration_days.data, one_time=form.one_time.data, note=form.note.data))
    if grant:
        flash(f"You shared with {grant['grantee_name']} ({grant['grantee_id']}) as "
              f"{grant['grant_id']}.", "success")
        return redirect(url_for("patient.grants"))
    return _grants_page(form, status)


@bp.route("/grants/<grant_id>/revoke", methods=["POST"])
@roles_required(users.PATIENT)
def revoke(grant_id):
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form could not be read. Reload and try again.")
    grant = consent.revoke(get_db(), patient=_me(), grant_id=grant_id)
    flash(f"{grant['grant_id']} is revoked: {grant['grantee_name']} can no longer read "
          "your records under it.", "success")
    return redirect(url_for("patient.grants"))


def _filtered_log(whole=False):
    """(form, entries, status), one keyset page of entries or the `whole` log: a bad filter
    is a 400 with its message on the field, and no entries (never a silently empty or
    unfiltered list)."""
    form = AccessLogFilterForm(request.args)
    try:
        filters = audit_trail.clean_filters(form.viewer.data, form.record.data, form.since.data,
                                            form.until.data)
    except InvalidInput as exc:
        return form, None, show_on_form(form, exc)
    if whole:
        entries = audit_trail.for_patient(get_db(), current_user.human_id, **filters)
    else:
        entries = audit_trail.page_for_patient(get_db(), current_user.human_id,
                                               before=cursor(), **filters)
    return form, entries, 200


def _access_log_page(form, page, status):
    entries = audit_trail.with_org_names(get_db(), list(page)) if page is not None else []
    return render_template("patient/access_log.html", form=form, entries=entries, page=page,
                           refused=page is None,
                           csv_args={k: v for k, v in request.args.items()
                                     if k in ("viewer", "record", "since", "until") and v}), status


@bp.route("/access-log")
@roles_required(users.PATIENT)
def access_log():
    return _access_log_page(*_filtered_log())


@bp.route("/access-log.csv")
@roles_required(users.PATIENT)
def access_log_csv():
    form, entries, status = _filtered_log(whole=True)
    if entries is None:
        return _access_log_page(form, entries, status)
    entries = audit_trail.with_org_names(get_db(), entries)
    return Response(audit_trail.as_csv(entries), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{current_user.human_id}-reads.csv"',
        "Cache-Control": "no-store"})


@bp.route("/export.json")
@roles_required(users.PATIENT)
def export():
    document = patient_export.build(get_db(), clinical.data_key(), _me())
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{current_user.human_id}-records.json"',
        "Cache-Control": "no-store"})


@bp.route("/export.fhir.json")
@roles_required(users.PATIENT)
def export_fhir():
    """Everything, as a FHIR R4 collection Bundle (files embedded), beside the JSON export."""
    return fhir_download.bundle_download(_me(), current_user.human_id)


@bp.route("/emergencies")
@roles_required(users.PATIENT)
def emergencies():
    page = emergency.page(get_db(), patient_id=current_user.human_id, before=cursor())
    return render_template("patient/emergencies.html", cases=page.items, page=page)
