"""Research sharing that patients opt into (issue 14).

- `catalogue`: the fixed list of fields a study may ask for, each with its source, its kind
  (quasi-identifier, sensitive, plain) and its de-identified form; the cohort filter's schema.
- `studies`: a researcher registers a study; an administrator approves or rejects it (sealed).
- `consent`: each patient's research choice (out by default; all research or named studies),
  sealed, and `participants(db, study)`, the one function an export asks who is in.
- `deidentify`, `kanon`, `exports`: the export of an approved study (Safe Harbor, k-anonymity
  gate, CSV and data dictionary, sealed).

The package sits right of `exchange` and left of `notify`.
"""
