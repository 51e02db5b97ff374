from tests.support_people import admin, manager, org, other_manager, other_org, pending_doctor  # noqa: F401
