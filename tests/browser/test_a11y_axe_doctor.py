"""Axe-core at WCAG 2.2 AA finds nothing on any page state of the doctor group's walk
(tests/browser/a11y_walk.py holds the walk and the groups)."""
import pytest

from tests.browser.a11y_walk import AXE_GROUPS, axe_problems


@pytest.mark.parametrize("role", AXE_GROUPS["doctor"])
def test_every_page_state_passes_axe_at_wcag22_aa(a11y_demo, role_pages, role):
    problems = axe_problems(a11y_demo, role_pages, role)
    assert not problems, "\n".join(problems)
