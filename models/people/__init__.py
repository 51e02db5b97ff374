"""Accounts and who they are: users and sign-in, accounts opened for others, organizations
and their staff, patients, doctors' licence verification."""
