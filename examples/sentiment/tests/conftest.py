from __future__ import annotations

import pytest
from sentiment.model import train


@pytest.fixture(scope="session")
def model():
    """The trained classifier (deterministic: the corpus and the solver are)."""
    return train()
