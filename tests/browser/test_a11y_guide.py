"""The user guide's pictures (docs/guide/): a state of the walk per picture, taken on every run
(into a temporary folder); MEDLEDGER_GUIDE_DIR=docs/guide writes the guide's own."""
import os
from pathlib import Path

from tests.browser.a11y_walk import DESKTOP, GUIDE, visit


def test_guide_pictures_of_each_roles_main_pages(a11y_demo, role_pages, tmp_path):
    server, _, all_states = a11y_demo
    folder = Path(os.environ.get("MEDLEDGER_GUIDE_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    for role, name, filename in GUIDE:
        state = next(found for found in all_states[role] if found.name == name)
        page = role_pages(role)
        page.set_viewport_size(DESKTOP)
        response = visit(page, server.url, state)
        assert response.status == 200, f"{name}: {response.status}"
        assert page.locator("h1").count() == 1, name
        page.screenshot(path=str(folder / filename), full_page=True)
        picture = (folder / filename).read_bytes()
        assert picture.startswith(b"\x89PNG") and len(picture) > 10_000, filename
    assert {role for role, _, _ in GUIDE} >= {"patient00001", "dr.brooks", "pharm.wilson",
                                              "lab.mendes", "manager.stmarys", "admin", "auditor"}
