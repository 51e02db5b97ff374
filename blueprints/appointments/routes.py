"""Appointments: the patient books or requests, the doctor answers and keeps a schedule, the
front desk checks patients in and proposes times, the manager chooses how patients book.

Thin views: parse a form, call models.care, render. Who may touch which appointment is
decided by the model (another person's appointment is simply not found).
"""
import math
from datetime import date, datetime, time, timedelta, timezone

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.appointments import bp
from blueprints.appointments.forms import (ACTION_LABELS, DONE_LABELS, ActionForm, BookForm,
                                           BookingModeForm, DoctorSearchForm, ProposeForm,
                                           RequestForm, ScheduleForm)
from blueprints.clinical_forms import choices
from blueprints.form_errors import submitted
from blueprints.guards import roles_required
from blueprints.template_helpers import as_utc, installation_zone, local_time_text
from models.care import appointments, schedules
from models.consent import workflow as consent
from models.core.clock import now_ms
from models.core.errors import InvalidInput
from models.people import directory, organizations, users
from models.storage.db import get_db

PARTIES = (users.PATIENT, users.DOCTOR, users.FRONT_DESK)
PROPOSE_DAYS = 14
HOME = {users.PATIENT: "appointments.mine", users.DOCTOR: "appointments.week",
        users.FRONT_DESK: "appointments.desk_day", users.ORG_MANAGER: "appointments.settings"}
UPCOMING = (appointments.PROPOSED, appointments.BOOKED, appointments.ARRIVED)


def _me():
    return current_user.doc


# Calendar helpers -----------------------------------------------------------------------------

def _today(zone):
    return datetime.now(timezone.utc).astimezone(zone).date()


def _date_arg(name="date"):
    """The local day asked for (?date=YYYY-MM-DD), today by default; 400 if malformed."""
    zone = installation_zone()
    text = request.args.get(name, "")
    if not text:
        return _today(zone)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("Give the date as YYYY-MM-DD.", {name: "Give the date as "
                                                                  "YYYY-MM-DD."}) from None


def _bounds(first, last, zone):
    """UTC [start, end) of the local days [first, last)."""
    return tuple(datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)
                 for day in (first, last))


def _local_day(moment, zone):
    return as_utc(moment).astimezone(zone).date()


def _slot_value(start):
    return as_utc(start).strftime("%Y-%m-%dT%H:%MZ")


def _slot_choices(slots):
    return choices((_slot_value(start), local_time_text(start)) for start, _ in slots)


def parse_start(text):
    """An offered time as the form sends it (UTC, "2030-01-07T09:00Z"), or None."""
    try:
        moment = datetime.strptime(str(text or ""), "%Y-%m-%dT%H:%MZ")
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc)


def _by_day(found, zone):
    days = {}
    for appt in found:
        if appt.get("start"):
            days.setdefault(_local_day(appt["start"], zone), []).append(appt)
    return days


@bp.app_template_filter("local_day")
def local_day(day, form="long"):
    """A local calendar day as the calendars head it: "Monday 2030-01-07" ("Mon …" short).
    Days here are already the installation's (never an instant to convert)."""
    return f"{day:%A %Y-%m-%d}" if form == "long" else f"{day:%a %Y-%m-%d}"


# Everyone ------------------------------------------------------------------------------------

@bp.route("/")
@roles_required(*HOME)
def home():
    return redirect(url_for(HOME[current_user.role]))


@bp.route("/<appointment_id>")
@roles_required(*PARTIES)
def detail(appointment_id):
    db, now = get_db(), now_ms()
    appt, party = appointments.for_actor(db, _me(), appointment_id)
    allowed = appointments.allowed_actions(appt, party, now)
    forms = {action: ActionForm(prefix=action) for action in allowed}
    propose = None
    if appointments.may_propose(appt, party, now):
        zone = installation_zone()
        first = _today(zone)
        propose = ProposeForm()
        propose.start.choices = _slot_choices(schedules.free_slots(
            db, appt["doctor_id"], first, first + timedelta(days=PROPOSE_DAYS), zone, now))
    return render_template("appointments/detail.html", appt=appt, party=party, forms=forms,
                           propose=propose, labels=ACTION_LABELS, done_labels=DONE_LABELS,
                           access_link=_access_link(appt, party, now),
                           needs_note={row.action: row.note for row in appointments.TABLE})


def _access_link(appt, party, now):
    """For the doctor of a booked, arrived or fulfilled appointment: the request-access form,
    pre-filled with the reason and a period covering the appointment (the patient decides)."""
    if party != appointments.DOCTOR or appt["status"] not in (
            appointments.BOOKED, appointments.ARRIVED, appointments.FULFILLED):
        return None
    end = as_utc(appt["end"])
    needed = max(1, math.ceil((end - now).total_seconds() / 86400))
    days = next((days for days, _ in consent.DURATIONS if days >= needed), consent.MAX_DAYS)
    return url_for("doctor.request_access", patient_id=appt["patient_id"], purpose="treatment",
                   duration_days=days,
                   message=f"Appointment {appt['appointment_id']}: {appt.get('reason') or ''}")


@bp.route("/<appointment_id>/act/<action>", methods=["POST"])
@roles_required(*PARTIES)
def act(appointment_id, action):
    if action not in appointments.ACTIONS:
        raise InvalidInput("There is no such action.")
    form = ActionForm(prefix=action)
    if not form.validate_on_submit():
        raise InvalidInput("The form could not be read: " + "; ".join(
            message for messages in form.errors.values() for message in messages))
    appt = appointments.act(get_db(), actor=_me(), appointment_id=appointment_id, action=action,
                            note=form.note.data)
    flash(f"Appointment {appt['appointment_id']} is {appt['status']}.", "success")
    return redirect(url_for("appointments.detail", appointment_id=appt["appointment_id"]))


@bp.route("/<appointment_id>/propose", methods=["POST"])
@roles_required(users.DOCTOR, users.FRONT_DESK)
def propose(appointment_id):
    form = ProposeForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form could not be read. Reload and try again.")
    appt = appointments.propose_time(get_db(), actor=_me(), appointment_id=appointment_id,
                                     start=parse_start(form.start.data), zone=installation_zone())
    flash(f"{local_time_text(appt['start'])} is proposed to the patient.", "success")
    return redirect(url_for("appointments.detail", appointment_id=appt["appointment_id"]))


# Patients ------------------------------------------------------------------------------------

@bp.route("/mine")
@roles_required(users.PATIENT)
def mine():
    now = now_ms()
    found = appointments.for_patient(get_db(), current_user.human_id)
    upcoming = [appt for appt in found if appt["status"] in UPCOMING
                and (not appt.get("start") or as_utc(appt["end"]) > now)]
    past = [appt for appt in reversed(found) if appt not in upcoming]
    return render_template("appointments/mine.html", upcoming=upcoming, past=past)


@bp.route("/find")
@roles_required(users.PATIENT)
def find_doctor():
    form = DoctorSearchForm(request.args)
    found, status = [], 200
    if request.args:
        if not form.validate():
            status = 400
        else:
            found = sorted(directory.find_doctors(get_db(), form.q.data or "",
                                                  form.specialty.data or None),
                           key=lambda card: card["name"])[:directory.LIMIT]
    return render_template("appointments/find.html", form=form, found=found,
                           searched=bool(request.args)), status


@bp.route("/book/<doctor_id>", methods=["GET", "POST"])
@roles_required(users.PATIENT)
def book(doctor_id):
    """Direct mode: a week of free slots to pick from; request mode: the request form. A
    booking that succeeds reads no more than it needs (the page is built only to show it)."""
    db, zone = get_db(), installation_zone()
    doctor = appointments.bookable_doctor(db, doctor_id)
    if schedules.booking_mode(db, doctor["org_id"]) == schedules.REQUEST:
        form, status = RequestForm(), 200
        if request.method == "POST":
            appt, status = submitted(form, lambda: appointments.request(
                db, patient=_me(), doctor_id=doctor["human_id"], reason=form.reason.data,
                preferred_days=form.preferred_days.data))
            if appt:
                flash(f"Request {appt['appointment_id']} is sent: you will be told when a time "
                      "is proposed.", "success")
                return redirect(url_for("appointments.detail",
                                        appointment_id=appt["appointment_id"]))
        return render_template("appointments/request.html", form=form, doctor=doctor,
                               org=organizations.get(db, doctor["org_id"])), status
    form, status = BookForm(), 200
    if request.method == "POST":
        appt, status = submitted(form, lambda: appointments.book(
            db, patient=_me(), doctor_id=doctor["human_id"], start=parse_start(form.start.data),
            reason=form.reason.data, zone=zone))
        if appt:
            flash(f"Appointment {appt['appointment_id']} on {local_time_text(appt['start'])} is "
                  "booked, waiting for the doctor to accept it.", "success")
            return redirect(url_for("appointments.detail", appointment_id=appt["appointment_id"]))
    today = _today(zone)
    first = max(_date_arg("week") if request.args.get("week") else today, today)
    days = {}
    for start, _ in schedules.free_slots(db, doctor["human_id"], first,
                                         first + timedelta(days=7), zone, now_ms()):
        days.setdefault(_local_day(start, zone), []).append(
            (_slot_value(start), local_time_text(start, "time")))
    return render_template("appointments/book.html", form=form, doctor=doctor,
                           org=organizations.get(db, doctor["org_id"]), days=days, first=first,
                           prev_week=first - timedelta(days=7),
                           next_week=first + timedelta(days=7), today=today), status


# Doctors -------------------------------------------------------------------------------------

def _doctor_calendar(template, first, days, **shown):
    """A doctor's appointments on local days [first, first + days), and their requests
    still waiting for a time."""
    zone, db = installation_zone(), get_db()
    found = appointments.for_doctor(db, current_user.human_id,
                                    *_bounds(first, first + timedelta(days=days), zone))
    step = timedelta(days=days)
    return render_template(template, first=first, found=found, by_day=_by_day(found, zone),
                           days=[first + timedelta(days=n) for n in range(days)],
                           previous=first - step, following=first + step,
                           requests=appointments.open_requests(db, "doctor_id",
                                                               current_user.human_id), **shown)


@bp.route("/day")
@roles_required(users.DOCTOR)
def day():
    return _doctor_calendar("appointments/day.html", _date_arg(), 1)


@bp.route("/week")
@roles_required(users.DOCTOR)
def week():
    first = _date_arg()
    return _doctor_calendar("appointments/week.html", first - timedelta(days=first.weekday()), 7)


@bp.route("/schedule")
@roles_required(users.DOCTOR)
def my_schedule():
    return redirect(url_for("appointments.schedule", doctor_id=current_user.human_id))


@bp.route("/schedule/<doctor_id>", methods=["GET", "POST"])
@roles_required(users.DOCTOR, users.ORG_MANAGER)
def schedule(doctor_id):
    db = get_db()
    doctor = schedules.doctor_for(db, _me(), doctor_id)
    published = schedules.current(db, doctor["human_id"])
    form, status = ScheduleForm(), 200
    if request.method == "GET" and published:
        form.slot_minutes.data = str(published["slot_minutes"])
        form.hours.data = schedules.hours_text(published)
        form.leave.data = schedules.leave_text(published)
    if request.method == "POST":
        doc, status = submitted(form, lambda: schedules.publish(
            db, actor=_me(), doctor_id=doctor["human_id"], slot_minutes=form.slot_minutes.data,
            hours=form.hours.data, leave=form.leave.data))
        if doc:
            flash(f"Version {doc['version']} of {doctor['name']}'s schedule is published and "
                  "sealed.", "success")
            return redirect(url_for("appointments.schedule", doctor_id=doctor["human_id"]))
    return render_template("appointments/schedule.html", form=form, doctor=doctor,
                           published=published, weekdays=schedules.WEEKDAYS), status


# Organization managers -----------------------------------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
@roles_required(users.ORG_MANAGER)
def settings():
    db = get_db()
    org = organizations.require(db, current_user.org_id)
    form, status = BookingModeForm(), 200
    if request.method == "GET":
        form.mode.data = schedules.booking_mode(db, org["human_id"])
    else:
        doc, status = submitted(form, lambda: schedules.set_booking_mode(
            db, manager=_me(), mode=form.mode.data))
        if doc:
            flash(f"Booking mode is now {doc['mode']}.", "success")
            return redirect(url_for("appointments.settings"))
    doctors = [member for member in organizations.members(db, org["human_id"])
               if member["role"] == users.DOCTOR]
    return render_template("appointments/settings.html", form=form, org=org, doctors=doctors,
                           current={doc["human_id"]: schedules.current(db, doc["human_id"])
                                    for doc in doctors}), status


# Front desk ----------------------------------------------------------------------------------

def desk_today(db, org_id, shown=None):
    zone = installation_zone()
    shown = shown or _today(zone)
    return appointments.for_org(db, org_id, *_bounds(shown, shown + timedelta(days=1), zone))


@bp.app_context_processor
def desk_panel():
    """`desk_appointments()` for templates/desk/_appointments.html: today's appointments of
    the signed-in front desk's organization, and its requests waiting for a time."""
    def desk_appointments():
        if not current_user.is_authenticated or current_user.role != users.FRONT_DESK \
                or not current_user.org_id:
            return None
        db = get_db()
        return {"today": desk_today(db, current_user.org_id),
                "requests": appointments.open_requests(db, "org_id", current_user.org_id),
                "check_in": ActionForm(prefix="arrived")}
    return {"desk_appointments": desk_appointments}


@bp.route("/desk")
@roles_required(users.FRONT_DESK)
def desk_day():
    db = get_db()
    if not current_user.org_id:
        raise InvalidInput("Your account belongs to no organization.")
    shown = _date_arg()
    return render_template("appointments/desk.html", shown=shown,
                           found=desk_today(db, current_user.org_id, shown),
                           requests=appointments.open_requests(db, "org_id", current_user.org_id),
                           check_in=ActionForm(prefix="arrived"),
                           prev_day=shown - timedelta(days=1), next_day=shown + timedelta(days=1))
