"""The front desk: a hospital's or clinic's staff who book and admit, and read no record."""
from models.consent import access
from models.people import users


def test_the_front_desk_signs_in_to_its_own_dashboard(app, client, auth, make_account):
    desk = make_account(users.FRONT_DESK, org_id="ORG-0001")
    response = auth.login(desk["username"])
    assert response.headers["Location"] == "/desk/"
    page = client.get("/desk/")
    assert page.status_code == 200 and b'data-testid="dashboard-desk"' in page.data
    assert b'data-testid="nav-desk-dashboard"' in page.data


def test_the_front_desk_is_not_a_reader_of_records():
    assert users.FRONT_DESK not in access.READER_ROLES


def test_other_roles_cannot_open_the_front_desk(client, auth, make_account):
    auth.login(make_account(users.DOCTOR)["username"])
    assert client.get("/desk/").status_code == 403
