"""The app's side of the ledger: `seam.seal()` appends a block and runs the hooks registered
at start-up; the registry says which event kinds exist and where each kind's document lives;
checkpoints, proofs, the explorer, the audit and reconcile are built on those two.

Nothing here imports a domain package (people, consent, clinical): domains declare their
event kinds and `models.startup.install` registers them.
"""
