"""At 390 px no page state of any role scrolls sideways or leaves a control out of reach; the
walk covers every role and many states (tests/browser/a11y_walk.py)."""
import re

import pytest

from tests.browser.a11y_walk import AXE_GROUPS, _username, roles, too_wide_at_390px


@pytest.mark.parametrize("role", roles())
def test_no_page_scrolls_sideways_at_390px(a11y_demo, role_pages, role):
    too_wide = too_wide_at_390px(a11y_demo, role_pages, role)
    assert not too_wide, "\n".join(too_wide)


def test_the_walk_covers_every_role_and_many_states(a11y_demo):
    _, _, all_states = a11y_demo
    assert set(map(_username, roles())) == set(all_states)
    total = sum(len(found) for found in all_states.values())
    assert total >= 100, total
    paths = {state.path for found in all_states.values() for state in found}
    assert any(re.search(r"/records/new/general$", path) for path in paths)


def test_the_axe_groups_are_every_role_once():
    grouped = [role for group in AXE_GROUPS.values() for role in group]
    assert sorted(grouped) == sorted(roles())
