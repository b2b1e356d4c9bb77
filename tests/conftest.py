"""Shared fixtures: one global IPython shell for the whole session."""

from __future__ import annotations

import IPython
import pytest
from IPython.testing.globalipapp import start_ipython


@pytest.fixture(scope="session")
def ipython_shell():
    """IPython's test shell (started once; ``start_ipython`` returns None after that)."""
    return start_ipython() or IPython.get_ipython()
