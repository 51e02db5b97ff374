"""The doctor directory's model (models.care.doctor_directory): searches by name, specialty
and organization (alone and together) showing only verified, active doctors; "on call now" in
the installation's zone across midnight and a change of daylight saving time; every edit a new,
sealed version, never an edit in place; who may edit whose entry."""
import pytest

from models.care import doctor_directory
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.people import users
from models.sealing import audit_jobs
from models.storage.db import get_db
from tests.care.conftest import MONDAY_NIGHT, PARIS, entry_values, utc
from tests.search.test_directory import queries  # noqa: F401  (the spy on every find)


def ids(found):
    return [listing["human_id"] for listing in found.items]


# Searching -------------------------------------------------------------------------------------

def test_search_by_name_finds_only_verified_active_doctors(doctors):
    # "heart" starts Heartley, Heartwood (unverified) and Heartfelt (disabled)
    assert ids(doctors.search(name="heart")) == [doctors.heartley["human_id"]]
    assert ids(doctors.search(name="CARLA heártley")) == [doctors.heartley["human_id"]]
    assert ids(doctors.search(name="nobody here")) == []


def test_search_by_specialty_finds_every_hospitals_specialists(doctors):
    found = doctors.search(specialty="cardiology")
    assert ids(found) == [doctors.beats["human_id"], doctors.heartley["human_id"]]  # by name
    by_id = {listing["human_id"]: listing for listing in found.items}
    assert by_id[doctors.beats["human_id"]]["organization"] == "Riverside Clinic"
    assert by_id[doctors.beats["human_id"]]["organization_kind"] == "Clinic"
    assert by_id[doctors.heartley["human_id"]]["specialty"] == "Cardiology"
    assert ids(doctors.search(specialty="neurology")) == [doctors.nerve["human_id"]]


def test_search_by_organization_lists_its_listed_doctors(doctors):
    world = doctors.world
    found = doctors.search(org_id=world.hospital_a["human_id"])
    # the world's own doctors of hospital A, the directory's, never the unverified or disabled
    assert set(ids(found)) == {doctors.heartley["human_id"], doctors.nerve["human_id"],
                               world.doctor["human_id"], world.colleague["human_id"]}
    assert ids(doctors.search(org_id=world.hospital_b["human_id"])) == \
        [doctors.beats["human_id"], world.outsider["human_id"]]  # Bruno before Olga


def test_criteria_combine(doctors):
    a, b = doctors.world.hospital_a["human_id"], doctors.world.hospital_b["human_id"]
    assert ids(doctors.search(specialty="cardiology", org_id=a)) == [doctors.heartley["human_id"]]
    assert ids(doctors.search(specialty="cardiology", org_id=b)) == [doctors.beats["human_id"]]
    assert ids(doctors.search(name="nina", org_id=a)) == [doctors.nerve["human_id"]]
    assert ids(doctors.search(name="nina", org_id=b)) == []
    assert ids(doctors.search(name="carla", specialty="cardiology")) == \
        [doctors.heartley["human_id"]]
    assert ids(doctors.search(name="carla", specialty="neurology")) == []
    assert ids(doctors.search(name="bruno", specialty="cardiology", org_id=b)) == \
        [doctors.beats["human_id"]]
    assert ids(doctors.search(name="bruno", specialty="cardiology", org_id=a)) == []


def test_a_search_needs_a_criterion_and_names_the_bad_field(doctors):
    with pytest.raises(InvalidInput) as empty:
        doctors.search()
    assert "name" in empty.value.field_errors
    with pytest.raises(InvalidInput) as short:
        doctors.search(name="c")
    assert "name" in short.value.field_errors
    with pytest.raises(InvalidInput) as long:
        doctors.search(name="carla " * 30)
    assert "name" in long.value.field_errors
    with pytest.raises(InvalidInput) as unknown:
        doctors.search(specialty="astrology")
    assert "specialty" in unknown.value.field_errors


def test_a_disabled_organizations_doctors_are_not_listed(doctors):
    with doctors.app.app_context():
        get_db().organizations.update_one({"_id": doctors.world.hospital_b["_id"]},
                                          {"$set": {"active": False}})
    assert ids(doctors.search(specialty="cardiology")) == [doctors.heartley["human_id"]]


def test_searches_are_bounded_equalities_never_regex_or_sorts(doctors, queries):
    doctors.edit(doctors.heartley, doctors.heartley)
    queries.clear()
    a = doctors.world.hospital_a["human_id"]
    doctors.search(name="carla heartley", specialty="cardiology", org_id=a, on_call_only=True)
    doctors.search(org_id=a)
    doctors.search(specialty="neurology")
    assert queries
    for collection, filter, options in queries:
        assert "$regex" not in str(filter) and "sort" not in options, filter
        unique = set(filter) <= {"human_id"}
        assert options.get("limit") or unique, (collection, filter)


# On call now -----------------------------------------------------------------------------------

def test_on_call_now_is_read_in_the_installations_zone(doctors):
    doctors.edit(doctors.heartley, doctors.heartley, windows=[("0", "08:00", "16:00")])
    # Monday 2026-01-05: 07:30 UTC is 08:30 in Paris (CET, UTC+1)
    found = doctors.search(specialty="cardiology", now=utc(2026, 1, 5, 7, 30))
    on_call = {listing["human_id"]: listing["on_call_now"] for listing in found.items}
    assert on_call == {doctors.heartley["human_id"]: True, doctors.beats["human_id"]: False}
    # 15:30 UTC is 16:30 in Paris: over, though 15:30 is inside the window in UTC
    assert not doctors.search(name="heartley", now=utc(2026, 1, 5, 15, 30)).items[0]["on_call_now"]
    assert doctors.search(name="heartley", now=utc(2026, 1, 5, 15, 30),
                          zone=None).items[0]["on_call_now"]  # what a UTC reading would say


@pytest.mark.parametrize("moment, expected", [
    (utc(2026, 1, 5, 20, 59), False),   # Monday 21:59 Paris
    (utc(2026, 1, 5, 21, 0), True),     # Monday 22:00
    (utc(2026, 1, 6, 4, 59), True),     # Tuesday 05:59: the night runs into the next day
    (utc(2026, 1, 6, 5, 0), False),     # Tuesday 06:00
    (utc(2026, 1, 6, 21, 30), False),   # Tuesday 22:30: the window is Monday's only
    (utc(2026, 1, 5, 1, 0), False),     # Monday 02:00: Sunday night has no window
])
def test_an_overnight_window_runs_past_midnight(doctors, moment, expected):
    doctors.edit(doctors.heartley, doctors.heartley, windows=MONDAY_NIGHT)
    assert doctors.search(name="heartley", now=moment).items[0]["on_call_now"] is expected


def test_a_sunday_night_window_runs_into_monday():
    entry = {"on_call": [{"day": 6, "start": "23:00", "end": "01:00"}]}
    assert doctor_directory.on_call_at(entry, utc(2026, 1, 11, 23, 30), PARIS) is True  # Mon 00:30
    assert doctor_directory.on_call_at(entry, utc(2026, 1, 12, 0, 30), PARIS) is False  # Mon 01:30


@pytest.mark.parametrize("moment, expected", [
    # 2026-03-29, Paris springs forward at 01:00 UTC (02:00 CET becomes 03:00 CEST)
    (utc(2026, 3, 29, 0, 30), False),   # 01:30 CET
    (utc(2026, 3, 29, 1, 30), True),    # 03:30 CEST (a fixed UTC+1 would say 02:30: outside)
    (utc(2026, 3, 29, 2, 59), True),    # 04:59 CEST
    (utc(2026, 3, 29, 3, 0), False),    # 05:00 CEST (a fixed UTC+1 would say 04:00: inside)
])
def test_on_call_follows_the_wall_clock_across_a_daylight_saving_change(doctors, moment, expected):
    doctors.edit(doctors.heartley, doctors.heartley, windows=[("6", "03:00", "05:00")])
    assert doctors.search(name="heartley", now=moment).items[0]["on_call_now"] is expected


@pytest.mark.parametrize("moment, expected", [
    # 2026-10-25, Paris falls back at 01:00 UTC (03:00 CEST becomes 02:00 CET): 02:30 twice
    (utc(2026, 10, 24, 23, 59), False),  # 01:59 CEST
    (utc(2026, 10, 25, 0, 30), True),    # 02:30 CEST, the first time
    (utc(2026, 10, 25, 1, 30), True),    # 02:30 CET, the second time
    (utc(2026, 10, 25, 2, 0), False),    # 03:00 CET
])
def test_a_repeated_hour_is_on_call_both_times(doctors, moment, expected):
    doctors.edit(doctors.heartley, doctors.heartley, windows=[("6", "02:00", "03:00")])
    assert doctors.search(name="heartley", now=moment).items[0]["on_call_now"] is expected


def test_the_on_call_filter_keeps_only_doctors_on_call(doctors):
    doctors.edit(doctors.heartley, doctors.heartley, windows=MONDAY_NIGHT)
    doctors.edit(doctors.beats, doctors.beats, windows=[("1", "08:00", "12:00")])
    monday_night = utc(2026, 1, 5, 23, 0)
    assert ids(doctors.search(specialty="cardiology", on_call_only=True, now=monday_night)) == \
        [doctors.heartley["human_id"]]
    tuesday_morning = utc(2026, 1, 6, 9, 0)  # 10:00 Paris: Beats only (Heartley's night ended)
    assert ids(doctors.search(specialty="cardiology", on_call_only=True,
                              now=tuesday_morning)) == [doctors.beats["human_id"]]


# Versions and the ledger -----------------------------------------------------------------------

def test_each_edit_is_a_new_sealed_version_and_nothing_is_edited_in_place(sealed_doctors):
    found = sealed_doctors
    app = found.app
    first = found.edit(found.heartley, found.heartley)
    db = get_db(app)
    stored_first = db.directory_entries.find_one({"_id": first["_id"]})
    second = found.edit(found.manager_a, found.heartley, department="Cardiology ward C",
                        windows=MONDAY_NIGHT)
    assert (first["version"], second["version"]) == (1, 2)
    versions = {doc["version"]: doc for doc in db.directory_entries.find(
        {"doctor_id": found.heartley["human_id"]})}
    assert set(versions) == {1, 2}
    kept = versions[1]
    assert {name: kept[name] for name in doctor_directory.FIELDS} == \
        {name: stored_first[name] for name in doctor_directory.FIELDS}
    assert kept["superseded_by"] == 2 and versions[2]["superseded_by"] is None
    assert versions[2]["by"] == found.manager_a["human_id"]
    with app.app_context():
        current = doctor_directory.current_entry(get_db(), found.heartley["human_id"])
    assert current["version"] == 2 and current["department"] == "Cardiology ward C"
    blocks = list(db.ledger_blocks.find({"kind": doctor_directory.UPDATED}))
    assert [block["subject"] for block in blocks] == [
        {"doctor": found.heartley["human_id"], "version": 1},
        {"doctor": found.heartley["human_id"], "version": 2}]
    assert [doc["sealed_height"] for doc in (versions[1], versions[2])] == \
        [block["height"] for block in blocks]
    with app.app_context():
        assert audit_jobs.run_audit(get_db(), app).ok


def test_an_entry_changed_in_mongodb_fails_the_audit(sealed_doctors):
    found = sealed_doctors
    app = found.app
    found.edit(found.heartley, found.heartley)
    db = get_db(app)
    db.directory_entries.update_one({"doctor_id": found.heartley["human_id"]},
                                    {"$set": {"phone": "+1 555 0100"}})
    with app.app_context():
        report = audit_jobs.run_audit(get_db(), app)
    assert not report.ok
    assert [problem.kind for problem in report.problems] == ["attribute-mismatch"]


def test_refused_input_writes_nothing(doctors):
    db = get_db(doctors.app)
    with pytest.raises(InvalidInput) as refused:
        doctors.edit(doctors.heartley, doctors.heartley, phone="call me", email="nobody",
                     extension="12a", windows=[("7", "25:00", "08:00"), ("1", "08:00", "08:00"),
                                               ("", "09:00", "")])
    assert refused.value.field_errors.pop("phone").startswith("Enter a phone number of 4 to 20")
    assert refused.value.field_errors == {
        "extension": "Enter the extension as 1 to 6 digits.",
        "email": "Enter a work e-mail address such as name@hospital.example.",
        "day_1": "Choose the weekday.", "start_1": "Enter a time as HH:MM (00:00 to 23:59).",
        "end_2": "The end must differ from the start (22:00 to 06:00 ends the next day).",
        "day_3": "Choose the weekday.", "end_3": "Enter a time as HH:MM (00:00 to 23:59).",
    }
    assert db.directory_entries.count_documents({}) == 0
    assert db.ledger_blocks.count_documents({"kind": doctor_directory.UPDATED}) == 0


@pytest.mark.parametrize("field, value", [
    ("extension", "١٢٣"), ("extension", "１２"), ("phone", "+33 ١ 23 45 67"),
    ("email", "dr@hôpital.example"),
])
def test_only_ascii_digits_and_addresses_are_accepted(field, value):
    with pytest.raises(InvalidInput) as refused:
        doctor_directory.clean(entry_values(**{field: value}))
    assert set(refused.value.field_errors) == {field}


@pytest.mark.parametrize("start", ["０８:００", "٠٨:٠٠"])
def test_times_are_ascii_digits(start):
    with pytest.raises(InvalidInput) as refused:
        doctor_directory.clean(entry_values(windows=[("0", start, "12:00")]))
    assert set(refused.value.field_errors) == {"start_1"}


def test_clean_keeps_valid_values_sorted_without_blank_rows_or_duplicates():
    values = doctor_directory.clean(entry_values(
        department="  Emergency   room ", email="Dr.Who@Hospital.Example", extension="",
        windows=[("4", "22:00", "06:00"), ("", "", ""), ("0", "08:00", "12:00"),
                 ("4", "22:00", "06:00")]))
    assert values == {"department": "Emergency room", "phone": "+33 1 23 45 67 89",
                      "extension": "", "email": "dr.who@hospital.example",
                      "on_call": [{"day": 0, "start": "08:00", "end": "12:00"},
                                  {"day": 4, "start": "22:00", "end": "06:00"}]}


# Who may edit ----------------------------------------------------------------------------------

def test_a_doctor_edits_only_their_own_entry(doctors):
    with pytest.raises(Forbidden):
        doctors.edit(doctors.nerve, doctors.heartley)  # a colleague of the same hospital
    assert doctors.edit(doctors.heartley, doctors.heartley)["version"] == 1


def test_a_manager_edits_only_their_own_organizations_doctors(doctors):
    world = doctors.world
    with pytest.raises(Forbidden):
        doctors.edit(world.manager_b, doctors.heartley)  # the manager of hospital B
    with pytest.raises(Forbidden):
        doctors.edit(world.manager, doctors.heartley)  # the pharmacy's manager
    assert doctors.edit(world.manager_b, doctors.beats)["by"] == world.manager_b["human_id"]
    assert doctors.edit(doctors.manager_a, doctors.heartley)["doctor_id"] == \
        doctors.heartley["human_id"]


@pytest.mark.parametrize("who", ["patient", "pharmacist", "lab_tech", "admin", "auditor"])
def test_other_roles_edit_nothing(doctors, who):
    with pytest.raises(Forbidden):
        doctors.edit(getattr(doctors.world, who), doctors.heartley)
    assert get_db(doctors.app).directory_entries.count_documents({}) == 0


def test_unknown_or_unlisted_doctors_are_not_found(doctors):
    with doctors.app.app_context():
        db = get_db()
        for human_id in ("DOC-999999", doctors.world.patient["human_id"],
                         doctors.world.hospital_a["human_id"], doctors.unverified["human_id"],
                         doctors.disabled["human_id"]):
            with pytest.raises(NotFound):
                doctor_directory.page_of(db, human_id, zone=PARIS)
        with pytest.raises(NotFound):
            doctor_directory.update(db, editor=doctors.world.admin, human_id="DOC-999999",
                                    raw=entry_values())


def test_a_disabled_organizations_doctor_has_no_page(doctors):
    with doctors.app.app_context():
        db = get_db()
        assert doctor_directory.page_of(db, doctors.beats["human_id"], zone=PARIS)["name"] == \
            "Bruno Beats"
        db.organizations.update_one({"_id": doctors.world.hospital_b["_id"]},
                                    {"$set": {"active": False}})
        with pytest.raises(NotFound):
            doctor_directory.page_of(db, doctors.beats["human_id"], zone=PARIS)


def test_two_edits_at_the_same_moment_save_one_version(doctors, monkeypatch):
    """Both read "no entry yet" and write version 1: the unique index lets one through, the
    other is a Conflict that writes and seals nothing."""
    doctors.edit(doctors.heartley, doctors.heartley, department="First")
    monkeypatch.setattr(doctor_directory, "current_entry", lambda db, doctor_id: None)
    with pytest.raises(Conflict):
        doctors.edit(doctors.manager_a, doctors.heartley, department="Second")
    db = get_db(doctors.app)
    assert [doc["department"] for doc in db.directory_entries.find()] == ["First"]
    assert db.ledger_blocks.count_documents({"kind": doctor_directory.UPDATED}) == 1


def test_a_version_a_crash_left_unmarked_is_still_superseded_by_the_highest(doctors, monkeypatch):
    """A crash between sealing version 2 and marking version 1 superseded: version 2 is the
    current entry all the same, and the next edit marks both older ones."""
    doctors.edit(doctors.heartley, doctors.heartley, department="One")
    db = get_db(doctors.app)
    doctors.edit(doctors.heartley, doctors.heartley, department="Two")
    db.directory_entries.update_many({}, {"$set": {"superseded_by": None}})  # the lost mark
    with doctors.app.app_context():
        assert doctor_directory.current_entry(get_db(), doctors.heartley["human_id"])[
            "department"] == "Two"
    doctors.edit(doctors.heartley, doctors.heartley, department="Three")
    assert sorted((doc["version"], doc["superseded_by"]) for doc in db.directory_entries.find()) \
        == [(1, 3), (2, 3), (3, None)]
    assert [listing["entry"]["department"] for listing in doctors.search(name="heartley").items] \
        == ["Three"]


def test_at_most_limit_listings_and_more_when_others_match(doctors, make_account):
    a = doctors.world.hospital_a["human_id"]
    for number in range(doctor_directory.LIMIT + 1):
        make_account(users.DOCTOR, f"derm{number}", name=f"Derma Skinner{number:02d}", org_id=a,
                     profile={"specialty": "dermatology"})
    found = doctors.search(specialty="dermatology")
    assert len(found.items) == doctor_directory.LIMIT and found.more
    assert [listing["name"] for listing in found.items][:2] == ["Derma Skinner00",
                                                                "Derma Skinner01"]
    narrowed = doctors.search(name="skinner07", specialty="dermatology")
    assert [listing["name"] for listing in narrowed.items] == ["Derma Skinner07"]
    assert not narrowed.more
