"""Notifications: sealed changes turned into a per-person inbox (and, optionally, e-mail).

The right-most package: it reads the domains' documents to decide who is told. No model
imports it but `startup`, which subscribes it to the seam's after-change hooks; the views of
the notification centre read it. Notifications decide nothing (no authority code): they say
who did what kind of thing, to which request, grant, emergency or record (type and id), when,
with a link, and never a clinical value or a free-text note.
"""
