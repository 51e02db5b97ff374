"""The licence flow on the embedded SecantusDB server over TCP (GridFS, ledger append)."""
import pytest

from models.people import users
from tests.support_people import PDF, blocks_of_kind, fresh, upload_licence

pytestmark = pytest.mark.integration


def test_upload_download_and_approval_on_a_real_server(app, client, auth, make_account):
    admin = make_account(users.ADMIN, username="admin.int")
    doctor = make_account(users.DOCTOR, username="dr.int", verified=False)
    auth.login(doctor["username"])
    assert upload_licence(client, PDF).status_code == 302
    auth.logout()
    auth.login(admin["username"])
    download = client.get(f"/admin/verifications/{doctor['human_id']}/licence")
    assert download.status_code == 200 and download.data == PDF
    assert client.post(f"/admin/verifications/{doctor['human_id']}/approve").status_code == 302
    assert client.post(f"/admin/verifications/{doctor['human_id']}/approve").status_code == 409
    blocks = blocks_of_kind(app, "account.verified")
    assert [block["subject"] for block in blocks] == [{"account": doctor["human_id"]}]
    assert fresh(app, doctor)["verification"]["sealed_height"] == blocks[0]["height"]
