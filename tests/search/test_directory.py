"""Finding patients, doctors and organizations by name, date of birth, specialty and kind
(models.people.directory): accent- and case-insensitive, bounded, and shaped as indexed
equalities and prefix ranges (never a regular expression or a sort over a collection)."""
import mongomock
import pytest

from models.core import names, specialties
from models.core.errors import InvalidInput, NotFound
from models.people import account_events, directory, patients, users
from models.storage import authority
from models.storage.db import get_db

BORN = "1980-03-02"


@pytest.fixture
def people(app, make_account, world):
    """Patients with accents, a shared name, a double surname; doctors with specialties."""
    make = make_account
    return {
        "leo": make(users.PATIENT, "leo", name="Leo García", profile={"date_of_birth": BORN,
                                                                       "sex": "male"}),
        "leo2": make(users.PATIENT, "leo2", name="Léo Garcia", profile={
            "date_of_birth": "1991-07-30", "sex": "male"}),
        "lopez": make(users.PATIENT, "lopez", name="Leonor García López", profile={
            "date_of_birth": "1975-12-24", "sex": "female", "email": "leonor@example.org"}),
        "obrien": make(users.PATIENT, "obrien", name="Siobhán O'Brien", profile={
            "date_of_birth": "2001-01-01", "sex": "female"}),
        "cardio": make(users.DOCTOR, "cardio", name="Leo Heartley", org_id=world.hospital_a["human_id"],
                       profile={"specialty": "cardiology"}),
        "derm": make(users.DOCTOR, "derm", name="Dora Skinner", org_id=world.hospital_b["human_id"],
                     profile={"specialty": "dermatology"}),
        "unverified": make(users.DOCTOR, "unverified", name="Leo Newcomer", verified=False,
                           org_id=world.hospital_a["human_id"], profile={"specialty": "cardiology"}),
    }


def ids(found):
    return [card["human_id"] for card in found.items]


def test_a_name_is_folded_for_search():
    assert names.fold("LEO GARCÍA") == names.fold("leo garcia") == names.fold("Léo  García") \
        == "leo garcia"
    assert names.fold("Siobhán O'Brien") == "siobhan obrien"
    assert names.fold("Søren Kierkegård-Straße") == "soren kierkegard strasse"
    assert names.name_keys("patient", "Leonor García López") == {
        "name_key": "patient:leonor garcia lopez", "surname_key": "patient:garcia lopez leonor"}


def test_patients_are_found_by_name_whatever_the_case_and_accents(app, people):
    db = get_db(app)
    leo, leo2 = people["leo"]["human_id"], people["leo2"]["human_id"]
    # every word typed starts a word of the name: Leonor García López is a "leo garcia" too
    assert set(ids(directory.find_patients(db, "LEO GARCÍA"))) == {leo, leo2,
                                                                   people["lopez"]["human_id"]}
    assert set(ids(directory.find_patients(db, "léo garcia", BORN))) == {leo}
    assert set(ids(directory.find_patients(db, "garcia"))) == {leo, leo2, people["lopez"]["human_id"]}
    assert ids(directory.find_patients(db, "garcia lopez")) == [people["lopez"]["human_id"]]
    assert ids(directory.find_patients(db, "lopez leonor")) == [people["lopez"]["human_id"]]
    assert ids(directory.find_patients(db, "obrien")) == [people["obrien"]["human_id"]]
    assert ids(directory.find_patients(db, "o'brien siob")) == [people["obrien"]["human_id"]]
    # a doctor called Leo is no patient
    assert people["cardio"]["human_id"] not in ids(directory.find_patients(db, "leo"))


def test_the_date_of_birth_narrows_a_name_and_finds_on_its_own(app, people):
    db = get_db(app)
    assert ids(directory.find_patients(db, "Leo García", BORN)) == [people["leo"]["human_id"]]
    assert ids(directory.find_patients(db, "", BORN)) == [people["leo"]["human_id"]]
    assert ids(directory.find_patients(db, "Leonor", BORN)) == []


def test_a_result_identifies_the_patient_and_says_nothing_else(app, people):
    card = directory.find_patients(get_db(app), "leonor").items[0]
    assert card["name"] == "Leonor García López" and card["date_of_birth"] == "1975-12-24"
    assert card["sex_label"] == "Female" and isinstance(card["age"], int)
    assert "leonor@example.org" not in str(card) and "username" not in card


def test_a_patient_id_typed_as_the_name_opens_that_patient(app, people):
    found = directory.find_patients(get_db(app), people["obrien"]["human_id"].lower())
    assert ids(found) == [people["obrien"]["human_id"]]
    assert directory.find_patients(get_db(app), "PAT-999999").items == []


@pytest.mark.parametrize("name,born,field", [
    ("", "", "name"), ("l", "", "name"), ("  ", "", "name"), ("leo", "02/03/1980", "date_of_birth"),
    ("leo", "1980-02-30", "date_of_birth"),
])
def test_a_query_that_says_too_little_is_refused(app, name, born, field):
    with pytest.raises(InvalidInput) as caught:
        directory.find_patients(get_db(app), name, born)
    assert field in caught.value.field_errors


def test_results_are_bounded_and_say_there_are_more(app, make_account):
    for n in range(directory.LIMIT + 3):
        make_account(users.PATIENT, f"many{n}", name=f"Manon Many{n:02d}",
                     profile={"date_of_birth": BORN})
    found = directory.find_patients(get_db(app), "manon")
    assert len(found.items) == directory.LIMIT and found.more


@pytest.fixture
def queries(monkeypatch):
    """Every filter the directory sends to the database (collection, filter, options)."""
    seen = []
    original = mongomock.collection.Collection.find

    def spy(self, filter=None, *args, **kwargs):
        seen.append((self.name, filter or {}, kwargs))
        return original(self, filter, *args, **kwargs)
    monkeypatch.setattr(mongomock.collection.Collection, "find", spy)
    return seen


INDEXED = {"name_key", "surname_key", "profile.date_of_birth", "profile.specialty", "human_id",
           "username"}


def test_searches_are_indexed_equalities_or_prefix_ranges_with_a_limit(app, people, queries):
    db = get_db(app)
    directory.find_patients(db, "leo garcia")
    directory.find_patients(db, "lopez leonor")
    directory.find_patients(db, "garcia", BORN)
    directory.find_doctors(db, "leo")
    directory.find_doctors(db, "cardio")
    directory.find_accounts(db, "leo")
    user_queries = [(filter, options) for name, filter, options in queries if name == "users"]
    assert user_queries
    for filter, options in user_queries:
        assert len(filter) == 1 and set(filter) <= INDEXED, filter
        (value,) = filter.values()
        if isinstance(value, dict) and "$in" not in value:
            assert set(value) == {"$gte", "$lt"} and value["$lt"] == value["$gte"] + "\uffff"
        assert "$regex" not in str(filter) and "sort" not in options
        unique = set(filter) <= {"human_id", "username"}
        assert options.get("limit") or unique, filter


def test_doctors_are_found_by_name_or_specialty_and_only_when_verified(app, people, world):
    db = get_db(app)
    cards = {card["human_id"]: card for card in directory.find_doctors(db, "cardio")}
    assert set(cards) == {people["cardio"]["human_id"]}  # not the unverified cardiologist
    assert cards[people["cardio"]["human_id"]]["organization"] == world.hospital_a["name"]
    assert cards[people["cardio"]["human_id"]]["specialty"] == "Cardiology"
    assert [c["human_id"] for c in directory.find_doctors(db, "", "dermatology")] == \
        [people["derm"]["human_id"]]
    assert [c["human_id"] for c in directory.find_doctors(db, "leo", "dermatology")] == []
    assert [c["human_id"] for c in directory.find_doctors(db, "heartley")] == \
        [people["cardio"]["human_id"]]


def test_organizations_are_found_by_any_word_of_their_name_and_by_kind(app, world):
    db = get_db(app)
    with app.app_context():
        account_events.disable_organization(db, world.hospital_b["human_id"], world.admin)
    assert [c["human_id"] for c in directory.find_organizations(db, "anne")] == \
        [world.hospital_a["human_id"]]
    assert [c["human_id"] for c in directory.find_organizations(db, "", "pharmacy")] == \
        [world.pharmacy["human_id"]]
    assert directory.find_organizations(db, "riverside") == []  # disabled


def test_a_patient_finds_whom_to_share_with(app, people, world):
    db = get_db(app)
    found = directory.find_grantees(db, "leo")
    assert ids(found) == [people["cardio"]["human_id"]]
    found = directory.find_grantees(db, "", "lab")
    assert ids(found) == [world.lab["human_id"]]
    with pytest.raises(InvalidInput):
        directory.find_grantees(db, "", "")
    with pytest.raises(InvalidInput):
        directory.find_grantees(db, "leo", "spaceship")
    preview = directory.grantee_card(db, people["cardio"]["human_id"].lower())
    assert (preview["name"], preview["organization"], preview["specialty"]) == (
        "Leo Heartley", world.hospital_a["name"], "Cardiology")
    for wrong in (people["unverified"]["human_id"], people["leo"]["human_id"], "ORG-9999", ""):
        with pytest.raises(NotFound):
            directory.grantee_card(db, wrong)


def test_the_administrator_finds_accounts_of_every_role_by_name(app, people, world):
    found = directory.find_accounts(get_db(app), "leo")
    assert set(ids(found)) >= {people["leo"]["human_id"], people["cardio"]["human_id"],
                               people["unverified"]["human_id"], people["lopez"]["human_id"]}
    assert {card["role"] for card in found.items} == {users.PATIENT, users.DOCTOR}
    assert ids(directory.find_accounts(get_db(app), "leo2")) == [people["leo2"]["human_id"]]
    with pytest.raises(InvalidInput):
        directory.find_accounts(get_db(app), "x")


def test_a_specialty_is_found_by_any_word_of_its_label():
    assert specialties.matching("cardio") == ["cardiology"]
    assert "otolaryngology" in specialties.matching("nose")
    assert specialties.matching("") == []


# Duplicates at the front desk --------------------------------------------------------------

def test_the_same_name_and_birth_date_is_a_possible_duplicate(app, people, world):
    db = get_db(app)
    assert [c["human_id"] for c in patients.same_person(db, "LEO  GARCIA", BORN)] == \
        [people["leo"]["human_id"]]
    assert patients.same_person(db, "Leo García", "1980-03-03") == []
    fields = {"name": "leo garcía", "username": "leo.again", "date_of_birth": BORN, "sex": "male",
              "email": "leo@example.org"}
    with app.app_context():
        with pytest.raises(patients.PossibleDuplicate) as caught:
            patients.register_at_desk(db, world.hospital_a, rounds=4, registered_by=world.manager,
                                      **fields)
        assert [c["human_id"] for c in caught.value.matches] == [people["leo"]["human_id"]]
        assert caught.value.status == 409
        assert users.by_username(db, "leo.again") is None
        patient, _ = patients.register_at_desk(db, world.hospital_a, rounds=4,
                                               registered_by=world.manager,
                                               confirm_new_person=True, **fields)
    assert patient["name_key"] == "patient:leo garcia"


# Keys for accounts written before name search ------------------------------------------------

def test_backfill_gives_old_accounts_their_keys_and_leaves_their_codes_valid(app, people):
    db = get_db(app)
    db.users.update_many({}, {"$unset": {"name_key": "", "surname_key": ""}})
    db.meta.delete_one({"_id": directory.KEYS_MARKER})
    assert directory.find_patients(db, "garcia").items == []
    with app.app_context():
        written = directory.ensure_keys(db)
        assert written == db.users.count_documents({})
        assert directory.ensure_keys(db) == 0  # the marker: once per key format
        for doc in db.users.find():
            assert authority.verify("users", doc) == []
    assert len(directory.find_patients(db, "garcia").items) == 3
    assert directory.backfill(db) == 0


def test_backfill_of_the_init_db_command(app, runner, people):
    get_db(app).users.update_one({"_id": people["leo"]["_id"]}, {"$unset": {"name_key": ""}})
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "1 account(s) got their search keys" in result.output
    assert get_db(app).users.find_one({"_id": people["leo"]["_id"]})["name_key"] == \
        "patient:leo garcia"


def test_a_deciding_field_is_never_set_without_its_code(app, people):
    db = get_db(app)
    for field in ("role", "verification.state", "verification", "auth", "auth.mac"):
        with pytest.raises(ValueError):
            authority.set_undeciding(db.users, people["leo"]["_id"], {field: "x"})
    assert db.users.find_one({"_id": people["leo"]["_id"]})["role"] == users.PATIENT
