"""Who may read what: access requests and grants (the patient-controlled state machine), the
one access decision, and break-glass emergency access."""
