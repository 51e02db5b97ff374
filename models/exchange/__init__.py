"""Exchange with other systems in HL7 FHIR R4: mapping, export, import.

It sits right of `care` (it maps records, grants, reads, appointments and admissions) and
left of `notify`. The mapping modules are pure (document in, FHIR resource out); the export,
search and import modules read and write through the domains to their left, so a FHIR read
takes the same access decision and leaves the same sealed read as a page.
"""
