"""The accessibility walk's machinery: every page state of every role, walked in chromium over
the seeded demo. The tests are split by role group so that both test workers share the walk
(test_a11y_*.py: axe-core at WCAG 2.2 AA finds nothing; at 390 px no page scrolls sideways;
the guide's pictures).

One live server and one demo world per test worker (session fixtures, registered in conftest);
one browser context per role, signed in once. A state is a path, optionally followed by an action on the page (filling a form wrongly
and sending it, for the error states). Axe comes bundled with `axe-playwright-python` (no
network).

To cover a new page, add a `State(name, path)` (or a `form_error(name, path, button,
**{label: value})`) to its role's list in `states()`; ids the path needs come from
`demo_world.build`. MEDLEDGER_AXE_REPORT=<file> writes one JSON line per state.
"""
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pymongo
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser import demo_world
from tests.browser.live_server import LiveServer

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Best practices too: one h1 per page, unique landmarks, no empty table header, content in
# landmarks are not WCAG success criteria, but the axe run counted them.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS + ["best-practice"]},
               "resultTypes": ["violations"]}
REPORT = os.environ.get("MEDLEDGER_AXE_REPORT")  # optional JSON-lines file: one line a state
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
_axe = Axe()
SHOWN_ERRORS = ("main [aria-invalid='true'], main [data-testid='form-error'], "
                "main .invalid-feedback, main .alert-danger")


@dataclass
class State:
    name: str
    path: str
    steps: tuple = field(default_factory=tuple)  # (label or None, value) pairs, then a button
    button: str = None
    status: int = None                          # the expected HTTP status of the last response


def form_error(name, path, button, **fills):
    """The page after sending a form wrongly (labels → values; empty sends it empty)."""
    return State(name, path, tuple(fills.items()), button)


def states(world):
    pid, rec = world["patient"], world["records"]
    anonymous = [
        State("sign-in", "/login"),
        form_error("sign-in refused", "/login", "Sign in", Username="admin",
                   Password="not the password"),
        form_error("sign-in empty", "/login", "Sign in"),
        State("register", "/patient/register"),
        form_error("register errors", "/patient/register", "Register"),
        State("not found", "/no-such-page"),
    ]
    admin = [
        State("admin dashboard", "/admin/"),
        State("organizations", "/admin/organizations"),
        State("new organization", "/admin/organizations/new"),
        form_error("new organization errors", "/admin/organizations/new", "Create organization"),
        form_error("new organization taken", "/admin/organizations/new", "Create organization",
                   **{"Organization name": "Central Pharmacy", "Manager's full name": "Al Ready",
                      "Manager's username": "admin"}),
        State("licence queue", "/admin/verifications"),
        State("licence review", f"/admin/verifications/{world['waiting_doctor']}"),
        form_error("licence reject errors", f"/admin/verifications/{world['waiting_doctor']}",
                   "Reject licence"),
        State("auditors", "/admin/auditors"),
        form_error("auditor errors", "/admin/auditors", "Create auditor"),
        State("accounts", "/admin/accounts"),
        State("account search", f"/admin/accounts?q={world['locked']}"),
        State("account search without result", "/admin/accounts?q=nobody-at-all"),
        State("account search by name", f"/admin/accounts?q={quote(world['patient_name'])}"),
        State("forbidden", "/patient/"),
        State("studies to review", "/research/review"),
        State("study to decide", f"/research/studies/{world['waiting_study']}"),
        form_error("study decision errors", f"/research/studies/{world['waiting_study']}",
                   "Reject"),
    ]
    researcher = [
        State("researcher studies", "/research/"),
        State("register a study", "/research/studies/new"),
        form_error("register a study errors", "/research/studies/new", "Register the study",
                   **{"k (smallest group size)": "2"}),
        State("researcher study", f"/research/studies/{world['study']}"),
        State("study exports", f"/research/studies/{world['study']}/exports"),
        State("study counts", f"/research/studies/{world['study']}/aggregates"),
    ]
    manager = [
        State("staff", "/organization/"),
        State("add staff", "/organization/staff/new"),
        form_error("add staff errors", "/organization/staff/new", "Add to staff"),
        form_error("add staff username taken", "/organization/staff/new", "Add to staff",
                   **{"Role": "doctor", "Full name": "Tom Taken", "Username": "admin"}),
        State("front desk", "/organization/patients/new"),
        form_error("front desk errors", "/organization/patients/new", "Register patient"),
        State("organization requests", "/organization/requests"),
        State("organization requests patient search",
              f"/organization/requests?q={quote(world['patient_name'])}"),
        State("organization notifications", "/notifications/"),
        State("manager's ward board", "/admissions/board"),
    ]
    doctor = [
        State("doctor dashboard", "/doctor/"),
        State("find patient", f"/doctor/patients?human_id={pid}"),
        State("find unknown patient", "/doctor/patients?human_id=PAT-999999"),
        State("find patient by name",
              f"/doctor/patients?q={quote(world['patient_name'])}&date_of_birth={world['patient_born']}"),
        State("patient summary", f"/doctor/patients/{pid}/summary"),
        State("doctor notifications", "/notifications/"),
        State("in-patients", "/admissions/inpatients"),
        State("doctor's ward board", "/admissions/board"),
        State("discharge summaries to write", "/admissions/summaries"),
        State("write a discharge summary", f"/admissions/{world['discharged_stay']}/summary"),
        form_error("discharge summary errors", f"/admissions/{world['discharged_stay']}/summary",
                   "Save the discharge summary"),
        State("patient page", f"/doctor/patients/{pid}"),
        State("hidden records", f"/doctor/patients/{world['other_patient']}"),
        *[State(f"record {name}", f"/doctor/records/{record_id}/v1")
          for name, record_id in rec.items()],
        State("amended record v1", f"/doctor/records/{world['amended']}/v1"),
        State("amended record v2", f"/doctor/records/{world['amended']}/v2"),
        State("record in error", f"/doctor/records/{world['wrong']}/v1"),
        State("dispensed prescription", f"/doctor/records/{world['dispensed']}/v1"),
        *[State(f"new {name}", f"/doctor/patients/{pid}/records/new/{name}")
          for name in rec if name != "patient_provided"],
        form_error("vitals errors", f"/doctor/patients/{pid}/records/new/general", "Save record",
                   **{"Weight (kg)": "heavy", "Height (cm)": "999",
                      "Blood pressure, systolic (mmHg)": "80",
                      "Blood pressure, diastolic (mmHg)": "90"}),
        form_error("prescription errors", f"/doctor/patients/{pid}/records/new/prescription",
                   "Save record"),
        State("amend", f"/doctor/records/{rec['diagnosis']}/v1/amend"),
        State("request access", f"/doctor/patients/{world['other_patient']}/request-access"),
        form_error("request access errors",
                   f"/doctor/patients/{world['other_patient']}/request-access", "Send request",
                   **{"Access to": "records"}),
        State("emergency", f"/doctor/patients/{pid}/emergency"),
        form_error("emergency errors", f"/doctor/patients/{pid}/emergency",
                   "Open emergency access"),
        State("my requests", "/doctor/requests"),
        State("doctor receipts", "/doctor/receipts"),
        State("record receipt", f"/doctor/records/{rec['diagnosis']}/v1/receipt"),
        State("verified licence", "/doctor/verification"),
    ]
    new_doctor = [
        State("licence upload", "/doctor/verification"),
        form_error("licence upload errors", "/doctor/verification", "Upload licence"),
    ]
    waiting_doctor = [State("licence waiting", "/doctor/verification")]
    pharmacist = [
        State("shared prescriptions", "/staff/"),
        State("pharmacist prescription", f"/staff/records/{rec['prescription']}/v1"),
    ]
    lab = [
        State("lab reports", "/staff/"),
        State("lab find patient", f"/staff/lab/patients?human_id={pid}"),
        State("new lab report", f"/staff/lab/patients/{pid}/reports/new"),
        form_error("lab report errors", f"/staff/lab/patients/{pid}/reports/new", "Save record"),
        State("lab record", f"/staff/records/{rec['lab_report']}/v1"),
    ]
    patient = [
        State("patient dashboard", "/patient/"),
        State("patient dashboard filtered", "/patient/?type=diagnosis"),
        State("patient dashboard bad filter", "/patient/?since=2024-05-01&until=2024-01-01"),
        State("sharing search", "/patient/grants?q=Mary&kind="),
        State("patient notifications", "/notifications/"),
        State("notification settings", "/notifications/settings"),
        State("patient record", f"/patient/records/{rec['diagnosis']}/v1"),
        State("patient record with files", f"/patient/records/{rec['imaging']}/v1"),
        State("patient amended record", f"/patient/records/{world['amended']}/v1"),
        State("request detail", f"/patient/requests/{world['request']}"),
        form_error("approve errors", f"/patient/requests/{world['request']}", "Approve",
                   **{"Access to": "records"}),
        State("sharing", "/patient/grants"),
        form_error("sharing errors", "/patient/grants", "Share",
                   **{"Or type their id": "DOC-999999", "Access to": "records"}),
        State("research counts", f"/research/studies/{world['study']}/counts"),
        State("research exports with my data", "/research/my-exports"),
        State("who saw", "/patient/access-log"),
        State("who saw filtered", f"/patient/access-log?viewer={world['ortega']}"),
        State("add document", "/patient/documents/new"),
        form_error("add document errors", "/patient/documents/new", "Save record"),
        State("change document", f"/patient/records/{rec['patient_provided']}/v1/amend"),
        State("patient emergencies", "/patient/emergencies"),
        State("patient receipts", "/patient/receipts"),
        State("patient receipt", f"/patient/records/{rec['diagnosis']}/v1/receipt"),
        State("hospital stays", "/admissions/mine"),
        State("patient's stay", f"/admissions/{world['stay']}"),
        form_error("api token errors", "/tokens", "Create token"),
    ]
    other_patient = [State("patient with emergency", "/patient/"),
                     State("patient's past stay", "/admissions/mine")]
    desk = [
        State("desk dashboard", "/desk/"),
        State("admit", "/admissions/admit"),
        State("admit patient search", f"/admissions/admit?q={quote(world['patient_name'])}"),
        State("admit chosen patient", f"/admissions/admit?patient={world['other_patient']}"),
        form_error("admit errors", "/admissions/admit", "Admit", Ward="x" * 50),
        State("admission", f"/admissions/{world['stay']}"),
        form_error("transfer errors", f"/admissions/{world['stay']}", "Transfer",
                   **{"New ward": "Surgery", "New bed": "2"}),
        State("discharged admission", f"/admissions/{world['discharged_stay']}"),
        State("ward board", "/admissions/board"),
        State("admission history", "/admissions/history"),
    ]
    auditor = [
        State("auditor overview", "/auditor/"),
        State("audits", "/auditor/audits"),
        State("audit report", f"/auditor/audits/{world['job']}"),
        State("blocks", "/auditor/blocks"),
        State("blocks filtered", "/auditor/blocks?kind=record.created"),
        State("block", "/auditor/blocks/1"),
        State("checkpoints", "/auditor/checkpoints"),
        form_error("checkpoint compare errors", "/auditor/checkpoints",
                   "Compare with the current chain"),
        State("emergency queue", "/auditor/emergencies"),
        State("auditor notifications", "/notifications/"),
        State("emergency case", f"/auditor/emergencies/{world['emergency']}"),
        State("emergency case still open", f"/auditor/emergencies/{world['open_emergency']}"),
        form_error("emergency review errors", f"/auditor/emergencies/{world['emergency']}",
                   "Record the review"),
        State("research studies", "/research/studies"),
        State("research study", f"/research/studies/{world['study']}"),
        State("research exports", "/research/audit/exports"),
    ]
    fresh = [
        State("set password", "/password"),
        form_error("set password errors", "/password", "Save password",
                   **{"New password": "short", "Repeat the new password": "other"}),
    ]
    return {
        None: anonymous, "admin": admin, "manager.stmarys": manager, "dr.brooks": doctor,
        "dr.new": new_doctor, "dr.waiting": waiting_doctor, "pharm.wilson": pharmacist,
        "lab.mendes": lab, "patient00001": patient, "patient00002": other_patient,
        "auditor": auditor, "fresh.user": fresh, "desk.stmarys": desk,
        "research.khan": researcher,
    }


@pytest.fixture(scope="session")
def a11y_demo(tmp_path_factory, embedded_uri):
    """The walk's server, world and states: built once per test worker (conftest), shared by the
    walk's test files."""
    server = LiveServer(tmp_path_factory.mktemp("a11y"), embedded_uri)
    server.db_name = f"a11y_{int(time.time())}"
    server.start()
    world = demo_world.build(server.app())
    yield server, world, states(world)
    server.stop()
    with pymongo.MongoClient(embedded_uri) as client:
        client.drop_database(server.db_name)


@pytest.fixture(scope="session")
def role_pages(a11y_demo, browser):
    """One signed-in page per role (created on first use, closed at the end)."""
    server, world, _ = a11y_demo
    opened = {}

    def page_for(username):
        if username not in opened:
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())   # "Reject …?": yes
            if username:
                password = world["setup_code"] if username == "fresh.user" else demo_world.PASSWORD
                page.goto(server.url + "/login")
                page.get_by_label("Username").fill(username)
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_load_state()
                assert "/login" not in page.url, f"{username} could not sign in"
            opened[username] = page
        return opened[username]

    yield page_for
    for page in opened.values():
        page.context.close()


def visit(page, base_url, state):
    response = page.goto(base_url + state.path)
    if state.button:
        for label, value in state.steps:
            control = page.locator("main").get_by_label(label, exact=True)
            if control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(value)
            else:
                control.fill(value)
        with page.expect_navigation():
            page.locator("main").get_by_role("button", name=state.button, exact=True).click()
    return response


def roles():
    return ["anonymous", "admin", "manager.stmarys", "dr.brooks", "dr.new", "dr.waiting",
            "pharm.wilson", "lab.mendes", "patient00001", "patient00002", "auditor", "fresh.user",
            "desk.stmarys", "research.khan"]


# The axe walk of each group runs in its own test file; the groups are sized by the walk's time
# (dr.brooks alone is about a quarter of it). Together they are every role (checked).
AXE_GROUPS = {
    "doctor": ["dr.brooks"],
    "patient": ["patient00001", "patient00002", "fresh.user", "anonymous", "research.khan"],
    "staff": ["admin", "manager.stmarys", "auditor", "desk.stmarys", "dr.new", "dr.waiting",
              "pharm.wilson", "lab.mendes"],
}


def _username(role):
    return None if role == "anonymous" else role


def describe(violations):
    lines = []
    for violation in violations:
        targets = "; ".join(", ".join(node["target"]) for node in violation["nodes"][:5])
        lines.append(f"  {violation['id']} ({len(violation['nodes'])}): {violation['help']} — "
                     f"{targets}")
    return "\n".join(lines)


# Controls of the page's content that a phone user cannot reach: outside the viewport's width
# and not inside a container that scrolls sideways by itself (a wide table's wrapper).
OUT_OF_REACH = """() => Array.from(document.querySelectorAll(
    'main button, main a.btn, main input:not([type=hidden]), main select, main textarea'))
  .filter(e => e.offsetParent !== null && !e.closest('.table-responsive'))
  .filter(e => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth; })
  .map(e => e.outerHTML.slice(0, 80))"""


# The user guide's pictures (docs/guide/): a state of the walk per picture. They are taken on
# every run (into a temporary folder); MEDLEDGER_GUIDE_DIR=docs/guide writes the guide's own.
GUIDE = (
    ("patient00001", "patient dashboard", "patient-dashboard.png"),
    ("patient00001", "request detail", "patient-request.png"),
    ("patient00001", "sharing search", "patient-sharing.png"),
    ("patient00001", "who saw", "patient-who-saw.png"),
    ("patient00001", "patient notifications", "patient-notifications.png"),
    ("patient00001", "patient receipt", "patient-receipt.png"),
    ("dr.brooks", "doctor dashboard", "doctor-dashboard.png"),
    ("dr.brooks", "find patient by name", "doctor-find-patient.png"),
    ("dr.brooks", "patient summary", "doctor-summary.png"),
    ("dr.brooks", "new general", "doctor-new-vitals.png"),
    ("dr.brooks", "request access", "doctor-request-access.png"),
    ("dr.brooks", "emergency", "doctor-emergency.png"),
    ("pharm.wilson", "shared prescriptions", "pharmacist-prescriptions.png"),
    ("lab.mendes", "new lab report", "lab-new-report.png"),
    ("manager.stmarys", "staff", "manager-staff.png"),
    ("manager.stmarys", "front desk", "manager-front-desk.png"),
    ("manager.stmarys", "organization requests patient search", "manager-requests.png"),
    ("admin", "admin dashboard", "admin-dashboard.png"),
    ("admin", "account search by name", "admin-accounts.png"),
    ("admin", "licence review", "admin-licence-review.png"),
    ("auditor", "auditor overview", "auditor-overview.png"),
    ("auditor", "blocks", "auditor-blocks.png"),
    ("auditor", "emergency case", "auditor-emergency-review.png"),
    ("desk.stmarys", "admission", "desk-admission.png"),
    ("desk.stmarys", "ward board", "desk-ward-board.png"),
    ("dr.brooks", "write a discharge summary", "doctor-discharge-summary.png"),
    ("patient00001", "sharing", "research-patient.png"),
    ("research.khan", "register a study", "research-register.png"),
)


def axe_problems(a11y_demo, role_pages, role):
    """Every state of the role's walk at desktop width: what axe found, one paragraph a state."""
    server, _, all_states = a11y_demo
    page = role_pages(_username(role))
    page.set_viewport_size(DESKTOP)
    problems = []
    for state in all_states[_username(role)]:
        visit(page, server.url, state)
        if state.button:
            assert page.locator(SHOWN_ERRORS).count(), f"{state.name}: no error was shown"
        started = time.monotonic()
        found = _axe.run(page, options=AXE_OPTIONS).response["violations"]
        if REPORT:
            with open(REPORT, "a") as out:
                out.write(json.dumps({"role": role, "state": state.name, "path": state.path,
                                      "seconds": round(time.monotonic() - started, 2),
                                      "violations": {v["id"]: len(v["nodes"]) for v in found}})
                          + "\n")
        if found:
            problems.append(f"{state.name} ({state.path}):\n{describe(found)}")
    return problems


def too_wide_at_390px(a11y_demo, role_pages, role):
    """The role's states that scroll sideways on a phone or leave a control out of reach."""
    server, _, all_states = a11y_demo
    page = role_pages(_username(role))
    page.set_viewport_size(PHONE)
    too_wide = []
    try:
        for state in all_states[_username(role)]:
            visit(page, server.url, state)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide.append(f"{state.name} ({state.path}): {width} px")
            cut_off = page.evaluate(OUT_OF_REACH)
            if cut_off:
                too_wide.append(f"{state.name} ({state.path}): out of reach: {cut_off}")
    finally:
        page.set_viewport_size(DESKTOP)
    return too_wide
