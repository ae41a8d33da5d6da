"""mlops-testkit: a pytest plugin for testing data, models and model behaviour.

The pytest plugin itself lives in :mod:`mlops_testkit.plugin` and is loaded through
the ``pytest11`` entry point; importing this package is cheap and pulls in no ML
framework.
"""

from __future__ import annotations

__version__ = "0.1.0"


class MltkWarning(UserWarning):
    """Base class of every warning mlops-testkit emits (filter them with this class)."""


class MltkConfigWarning(MltkWarning):
    """A setting that is valid but looks wrong, e.g. model globs that match no file."""


class MissingExtraError(ImportError):
    """An optional framework a helper needs is not installed.

    The message carries the exact install line, e.g.
    ``pip install 'mlops-testkit[torch]'``.
    """


__all__ = ["MissingExtraError", "MltkConfigWarning", "MltkWarning", "__version__"]
