from tests.records.world import world  # noqa: F401  (the shared clinical fixture)
