"""Times on pages are in the installation's time zone (MEDLEDGER_TIMEZONE, default UTC), each
a <time> whose datetime and hover title give the UTC instant; stored times stay UTC."""
import pathlib
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from app import create_app
from blueprints.template_helpers import when
from config import Config
from tests.conftest import make_config

TEMPLATES = pathlib.Path(__file__).resolve().parents[2] / "templates"


def test_a_time_is_shown_in_the_zone_with_utc_on_hover():
    winter = datetime(2026, 1, 15, 12, 5, 9, tzinfo=timezone.utc)
    html = str(when(winter, zone=ZoneInfo("Europe/Madrid")))
    assert html == ('<time datetime="2026-01-15T12:05:09Z" title="2026-01-15 12:05:09 UTC">'
                    '2026-01-15 13:05 CET</time>')
    summer = datetime(2026, 7, 15, 23, 30, tzinfo=timezone.utc)
    assert ">2026-07-16 01:30:00 CEST<" in str(when(summer, "seconds", ZoneInfo("Europe/Madrid")))
    assert ">2026-07-16<" in str(when(summer, "date", ZoneInfo("Europe/Madrid")))
    assert ">01:30 CEST<" in str(when(summer, "time", ZoneInfo("Europe/Madrid")))


def test_a_naive_stored_time_is_utc_and_nothing_is_a_dash():
    naive = datetime(2026, 1, 15, 12, 5)
    assert ">2026-01-15 17:35 IST<" in str(when(naive, zone=ZoneInfo("Asia/Kolkata")))
    assert when(None, zone=ZoneInfo("UTC")) == "–"


def test_the_zone_defaults_to_utc_and_an_unknown_one_stops_the_start(tmp_path):
    assert Config.TIMEZONE == "UTC"
    with pytest.raises(ZoneInfoNotFoundError):
        create_app(make_config(tmp_path, TIMEZONE="Mars/Olympus_Mons"))


def test_pages_show_times_in_the_installation_zone(world, app, client, auth):
    app.config["TIMEZONE"] = "Asia/Kolkata"
    grant = world.grant(world.doctor["human_id"], days=7)
    auth.login(world.patient["username"])
    html = client.get("/patient/grants").get_data(as_text=True)
    start = grant["valid_from"].replace(tzinfo=timezone.utc)
    local = start.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M IST")
    assert f">{local}</time>" in html
    assert f'title="{start.strftime("%Y-%m-%d %H:%M:%S")} UTC"' in html


def test_no_template_formats_a_time_itself():
    """Every time goes through the `when` filter (one zone, UTC on hover)."""
    offenders = [f"{path.relative_to(TEMPLATES)}:{number}"
                 for path in TEMPLATES.rglob("*.html")
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"\.strftime\(|\.isoformat\(", line)]
    assert not offenders, offenders


def test_a_flashed_time_is_in_the_installation_zone_too(world, app, client, auth):
    app.config["TIMEZONE"] = "Asia/Kolkata"
    request = world.ask(world.doctor)
    auth.login(world.patient["username"])
    response = client.post(f"/patient/requests/{request['request_id']}/approve",
                           data={"scope": "all", "duration_days": "7"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert re.search(r"has access until \d{4}-\d\d-\d\d \d\d:\d\d IST\.", html), html[:3000]
