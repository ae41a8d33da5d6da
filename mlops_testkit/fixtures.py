"""The kit's fixtures: ``seed``, ``device`` (the device matrix), ``candidate`` and
``champion`` (the MLflow registry). The plugin registers them; ``pytest --fixtures``
shows these docstrings."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from mlops_testkit import session
from mlops_testkit.devices import DeviceStatus, torch_installed
from mlops_testkit.extras import install_line


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The run's seed (``--mltk-seed``), for tests that build their own generators.

    Every RNG already imported is reseeded with it before each test; use it for
    generators you create yourself, so that ``--mltk-seed`` replays them too::

        def test_split(seed):
            rng = numpy.random.default_rng(seed)
            ...
    """
    return session.get(request.config).seed


@pytest.fixture
def device(request: pytest.FixtureRequest) -> Any:
    """A ``torch.device``, one test per selected device: ``test_x[cpu]``, ``test_x[cuda]``.

    The devices come from ``--mltk-devices`` (default: every one available here);
    ``@pytest.mark.devices("cpu", "cuda")`` narrows them for one test. A device that
    is not available skips with the reason, or fails under
    ``--mltk-require-devices``. Without torch the test skips with the install line::

        def test_forward(device):
            model = Net().to(device)
            assert model(torch.zeros(2, 8, device=device)).shape == (2, 1)
    """
    state = session.get(request.config)
    name = getattr(request, "param", None)
    if name is None:  # requested without parametrization (e.g. getfixturevalue)
        requested = state.value("devices")
        name = requested[0] if requested else "cpu"
    if not torch_installed():
        status = DeviceStatus(name, False, f"torch is not installed: {install_line('torch')}")
    else:
        status = state.probe()[name]
    if not status.available:
        message = f"device {name} is not available: {status.detail}"
        if state.value("require_devices"):
            pytest.fail(
                f"{message} (required by " f"{state.where('require_devices')})",
                pytrace=False,
            )
        pytest.skip(message)
    import torch

    return torch.device(name)


def _registry(request: pytest.FixtureRequest) -> Any:
    state = session.get(request.config)
    if state.registry is None:
        if state.value("model_name") is None:
            pytest.fail(
                f"mlops-testkit: the {request.fixturename!r} fixture needs the registered "
                "model's name: set --mltk-model-name, MLTK_MODEL_NAME or the ini key "
                "mltk_model_name",
                pytrace=False,
            )
        if importlib.util.find_spec("mlflow") is None:
            pytest.skip(
                f"the {request.fixturename!r} fixture needs mlflow: {install_line('mlflow')}"
            )
        from mlops_testkit.registry.tracking import Registry

        state.registry = Registry(state.value("model_name"), state.value("candidate"))
    return state.registry


def _from_registry(request: pytest.FixtureRequest, get: Any) -> Any:
    from mlops_testkit.registry.tracking import TrackingError, backend_error

    try:
        return get()
    except TrackingError as exc:
        problem = f"mlops-testkit: {exc}"
    except Exception as exc:
        if not backend_error(exc):
            raise
        problem = f"mlops-testkit: {request.fixturename}: MLflow error: {exc}"
    pytest.fail(problem, pytrace=False)  # outside the except: no chained traceback


@pytest.fixture(scope="session")
def candidate(request: pytest.FixtureRequest) -> Any:
    """The model version under test, from the MLflow registry (a ``RegistryModel``).

    Set the model with ``--mltk-model-name`` (or ini ``mltk_model_name``) and the
    version with ``--mltk-candidate`` (a number, an alias or a ``models:/`` URI; default
    the ``challenger`` alias). ``predict`` uses the MLflow pyfunc model, ``native`` the
    model's own flavour; the gate report records which version the gates evaluated::

        def test_auc(candidate, holdout):
            proba = candidate.predict(holdout.features)
            assert_metric("auc", roc_auc(holdout.y, proba), min=0.8)
    """
    registry = _registry(request)
    model = _from_registry(request, registry.candidate)
    request.addfinalizer(model.close)
    return model


@pytest.fixture(scope="session")
def champion(request: pytest.FixtureRequest) -> Any:
    """The model in production: the version behind the registry's ``champion`` alias when
    the candidate was resolved, judged with its own registered code (a version whose
    ``code_paths`` modules differ from the working tree's runs in a process of its own).
    Before the first deployment there is none, and tests that compare against it skip
    with a reason starting "first deployment"; a gate test allows that skip with
    ``@pytest.mark.gate(allow_skip="first deployment")``::

        @pytest.mark.gate(allow_skip="first deployment")
        def test_no_regression(candidate, champion, holdout):
            assert_no_regression("auc", auc(candidate, holdout), auc(champion, holdout))
    """
    registry = _registry(request)
    model = _from_registry(request, registry.champion)
    if model is None:
        pytest.skip(
            f"first deployment: model {registry.model_name!r} has no 'champion' alias yet, "
            "so there is nothing to compare against"
        )
    request.addfinalizer(model.close)
    return model
