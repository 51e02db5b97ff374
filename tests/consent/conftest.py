from tests.auditor_support import sealed_world, world  # noqa: F401  (the shared clinical fixtures)
