"""The served model: raw applicant rows in, probability of default out.

It wraps the network and its scaler in one MLflow pyfunc model, so that the registry
holds everything serving needs and ``mlflow.pyfunc.load_model`` predicts from raw rows.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import torch

from credit_scoring.data import SENSITIVE
from credit_scoring.features import Scaler
from credit_scoring.model import CreditNet

# What the model needs at serving time; passing it skips MLflow's slow inference of it.
PIP_REQUIREMENTS = ["torch", "numpy", "pandas", "mlflow"]
# The package travels with the model (code_paths): a champion registered from older code
# is judged with that code; mlops-testkit runs it in a process of its own when the
# working tree's credit_scoring differs.
CODE_PATHS = [str(Path(__file__).resolve().parent)]


def serving_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Applicant rows as a client sends them: no label, no sensitive attribute (it is
    audited, never scored on), categories as plain strings."""
    rows = frame.drop(columns=["defaulted", *SENSITIVE], errors="ignore")
    categorical = rows.select_dtypes("category").columns
    return rows.astype({c: str for c in categorical})


class CreditScorer(mlflow.pyfunc.PythonModel):
    """The network and its scaler; ``predict`` takes raw applicant rows."""

    def __init__(self, model: CreditNet, scaler: Scaler) -> None:
        self.model = model.cpu().eval()
        self.scaler = scaler

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        x = torch.from_numpy(self.scaler.transform(model_input))
        return self.model.predict_proba(x).numpy()


def register(
    model: CreditNet,
    scaler: Scaler,
    example: pd.DataFrame,
    *,
    name: str,
    metrics: dict[str, float],
    params: dict[str, object],
    alias: str = "challenger",
) -> str:
    """Log a training run and the model, register it as a new version of ``name`` and
    point ``alias`` at it. Returns the version."""
    client = mlflow.MlflowClient()
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=CreditScorer(model, scaler),
            input_example=serving_rows(example.head(5)),
            pip_requirements=PIP_REQUIREMENTS,
            code_paths=CODE_PATHS,
        )
    version = mlflow.register_model(info.model_uri, name, await_registration_for=60)
    client.set_registered_model_alias(name, alias, version.version)
    client.set_model_version_tag(name, version.version, "run_id", run.info.run_id)
    return str(version.version)
