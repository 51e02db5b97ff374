"""The auditor's overview: height, last checkpoint, last audit, keys and the activity chart."""
import json
import re
from datetime import datetime, timezone

from ledger.notes import VerifierKey

from models.sealing import checkpoints
from models.sealing import trust as ledger_trust
from models.storage.db import get_db
from tests.auditor_support import login, populate, web_audit


def test_overview_shows_height_checkpoint_audit_and_keys(app, client, sealed_world):
    populate(sealed_world)
    with app.app_context():
        cp = checkpoints.create(get_db())
    login(client, sealed_world.auditor)
    job = web_audit(client, app)
    body = client.get("/auditor/").get_data(as_text=True)
    size = get_db(app).ledger_blocks.count_documents({})
    assert f'data-testid="chain-height">{size - 1}<' in body
    last_checkpoint = body[body.index('data-testid="last-checkpoint"'):]
    assert f">{cp['size']}<" in last_checkpoint[:400] and cp["key_id"] in last_checkpoint[:600]
    assert job["_id"] in body and 'data-verdict="sound"' in body
    key = ledger_trust.signing_key(app).public()
    assert key.fingerprint in body and str(key) in body
    download = client.get(f"/auditor/keys/{key.key_id.hex()}.pub")
    assert VerifierKey.parse(download.get_data(as_text=True)) == key
    assert client.get("/auditor/keys/00000000.pub").status_code == 404


def test_the_chart_gets_todays_blocks_by_kind_from_the_counters(app, client, sealed_world):
    populate(sealed_world)
    login(client, sealed_world.auditor)
    body = client.get("/auditor/").get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="activity-data">(.*?)</script>',
                                body, re.S).group(1))
    today = datetime.now(timezone.utc).date().isoformat()
    assert data["days"][-1] == today and len(data["days"]) == 30
    counted = {kind: series[-1] for kind, series in data["series"].items()}
    expected = {}
    for block in get_db(app).ledger_blocks.find({}, {"kind": 1}):
        expected[block["kind"]] = expected.get(block["kind"], 0) + 1
    assert counted == expected


def test_scripts_are_served_by_the_app_with_no_inline_code(app, client, sealed_world):
    login(client, sealed_world.auditor)
    body = client.get("/auditor/").get_data(as_text=True)
    sources = re.findall(r'<script src="([^"]+)"', body)
    assert "/static/vendor/chartjs/chart.umd.min.js" in sources
    assert "/static/js/auditor.js" in sources
    assert all(src.startswith(("/static/", "/bootstrap/static/")) for src in sources)
    for script in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", body):
        assert 'type="application/json"' in script
    for path in ("vendor/chartjs/chart.umd.min.js", "vendor/chartjs/LICENSE.md", "js/auditor.js"):
        with client.get(f"/static/{path}") as response:
            assert response.status_code == 200, path
    assert ' style="' not in body
