"""Optional frameworks: import them lazily, and say exactly how to install a missing one."""

from __future__ import annotations

import importlib
from types import ModuleType

from mlops_testkit import MissingExtraError

# module -> the extra of mlops-testkit that installs it
EXTRA_OF = {
    "torch": "torch",
    "pandas": "data",
    "pandera": "data",
    "scipy": "data",
    "hypothesis": "data",
    "mlflow": "mlflow",
    "sklearn": "data",
    "pyarrow": "data",
}


def install_line(module: str) -> str:
    """The pip command that installs ``module`` with the right extra."""
    return f"pip install 'mlops-testkit[{EXTRA_OF.get(module, 'all')}]'"


def missing_message(module: str, needed_by: str) -> str:
    return f"{needed_by} needs {module}, which is not installed: {install_line(module)}"


def require(module: str, needed_by: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the install line."""
    try:
        return importlib.import_module(module)
    except (ImportError, SystemExit) as exc:  # some packages sys.exit() when a part is missing
        raise MissingExtraError(missing_message(module, needed_by)) from exc
