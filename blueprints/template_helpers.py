"""What every template may use: the attributes that tie a form control to its hint and errors,
the mark of the current page in the navigation, and the one way a time is shown (in the
installation's time zone, UTC on hover)."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, request
from markupsafe import Markup, escape

TIME_FORMATS = {"date": "%Y-%m-%d", "minutes": "%Y-%m-%d %H:%M", "seconds": "%Y-%m-%d %H:%M:%S",
                "time": "%H:%M"}


def described_by(field):
    """The ids of a field's error and hint texts (as _form.html gives them), space-separated."""
    ids = [f"{field.id}-error"] if field.errors else []
    if field.description:
        ids.append(f"{field.id}-hint")
    return " ".join(ids)


def control_attrs(field, css):
    """Keyword arguments for rendering a control: its classes, and while it has an error
    aria-invalid and the error's id in aria-describedby (with the hint's)."""
    classes = " ".join(filter(None, [css, (field.render_kw or {}).get("class"),
                                     "is-invalid" if field.errors else ""]))
    attrs = {"class": classes}
    described = described_by(field)
    if described:
        attrs["aria-describedby"] = described
    if field.errors:
        attrs["aria-invalid"] = "true"
    return attrs


def current_page(endpoint):
    """` aria-current="page"` on the navigation link to the page being shown (nav/*.html)."""
    return Markup(' aria-current="page"') if request.endpoint == endpoint else ""


def installation_zone():
    return ZoneInfo(current_app.config["TIMEZONE"])


def as_utc(value):
    """A stored time as an aware UTC datetime (naive values are UTC: the clock stores UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def local_time_text(value, precision="minutes", zone=None):
    """The time as plain text in the installation's zone, with the zone's abbreviation (for
    flashed messages, which carry no markup)."""
    local = as_utc(value).astimezone(zone or installation_zone())
    shown = local.strftime(TIME_FORMATS[precision])
    return shown if precision == "date" else f"{shown} {local.tzname()}"


def when(value, precision="minutes", zone=None):
    """<time> in the installation's zone with its abbreviation ("2026-03-29 14:05 CEST"); the
    UTC instant is in `datetime` and shown on hover. A date or nothing passes through."""
    if value is None or value == "":
        return "–"
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if not isinstance(value, datetime):
        return value
    utc = as_utc(value)
    shown = local_time_text(utc, precision, zone)
    utc_text = utc.strftime(TIME_FORMATS["seconds"]) + " UTC"
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"), utc_text, escape(shown))


def register(app):
    ZoneInfo(app.config["TIMEZONE"])  # an unknown zone fails at start-up, not on a page
    app.add_template_global(control_attrs)
    app.add_template_global(described_by)
    app.add_template_global(current_page)
    app.add_template_filter(when)
