"""The only code that talks to MongoDB: layered domain packages.

Left to right, a package imports only packages to its left (and the `ledger` library):

    core -> storage -> sealing -> people -> consent -> clinical -> care -> exchange -> research
    -> notify
    (startup wires them)

- `core`: one clock, domain errors, compare-and-set transitions, human ids, record types.
- `storage`: the MongoDB client (embedded server, MongoDB or mongomock), keys, encryption,
  attachments, the indexes step.
- `sealing`: the seam to the ledger (`seal()` and its hooks), the registry of event kinds,
  checkpoints, proofs, explorer, audit and reconcile. It never imports a domain package:
  domains declare their event kinds and `startup.install(app)` registers them.
- `people`, `consent`, `clinical`: accounts and organizations; requests, grants and the one
  access decision; records, reads and everything built on them.
- `care`: the hospital's everyday work around the records (the doctor directory, admissions
  and their discharge summaries); it grants no access to a record.
- `exchange`: HL7 FHIR R4 mapping, export, search and import, through the same access
  decision and sealed reads as the pages.
- `research`: research sharing that patients opt into: the field catalogue, studies and their
  approval, each patient's research choice, and de-identified, k-anonymous exports.
- `notify`: sealed changes turned into each person's notifications (and optional e-mail),
  subscribed to the seam's after-change hooks at start-up; no model imports it but `startup`.

`tests/test_layers.py` enforces these rules (see ../shared/design/layout.md).
"""
