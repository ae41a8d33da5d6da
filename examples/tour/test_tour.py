# test_tour.py: one test of each kind, on data, a model and a predict function made up
# here, so that the file runs as it is (mlops-testkit with the data and torch extras):
#   pytest test_tour.py --mltk-score --mltk-report report.html --mltk-gate-report gates.json
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
import torch
from torch import nn

from mlops_testkit import (
    assert_invariant,
    assert_no_drift,
    assert_overfits_batch,
    assert_schema,
    assert_slices,
    perturb,
)

REGIONS = ["north", "south", "east"]


class Applicants(pa.DataFrameModel):  # the contract your raw data keeps
    age: int = pa.Field(ge=18, le=100)
    income: float = pa.Field(ge=0)
    region: str = pa.Field(isin=REGIONS)


def applicants(n, seed):  # stands in for your training and serving data
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.lognormal(10, 0.5, n),
            "region": rng.choice(REGIONS, n),
        }
    )


@pytest.mark.data
def test_training_data():
    train, serving = applicants(1_000, seed=0), applicants(1_000, seed=1)
    assert_schema(train, Applicants)  # pandera contract, every violation at once
    assert_no_drift(train, serving)  # a test per column, corrected for many columns


@pytest.mark.model
def test_can_learn(device):  # once per device: [cpu], [cuda]
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    batch = (torch.randn(32, 4), torch.randint(0, 2, (32,)))
    assert_overfits_batch(net, batch, nn.CrossEntropyLoss(), device=device)


def predict(texts):  # your model behind a predict function; here, a keyword scorer
    words = [set(text.lower().split()) for text in texts]
    p = np.array([0.9 if "good" in w and "not" not in w else 0.1 for w in words])
    return np.stack([1 - p, p], axis=1)  # class probabilities


@pytest.mark.behavioral
def test_names_do_not_matter():
    reviews = ["Anna said the food was good", "James found the service slow"]
    assert_invariant(predict, reviews, perturb.change_names(n=3))


@pytest.mark.gate
def test_every_region():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 600)
    scores = np.clip(0.5 * y + rng.normal(0.25, 0.2, 600), 0, 1)  # your model's scores
    region = rng.choice(REGIONS, 600)
    assert_slices(y, scores, region, metric="roc_auc", min=0.7)
