"""Each mutation operator, in process: it fires where its patch point is hit, it changes
what it claims to change, it does not fire where its patch point is never reached, and
uninstalling puts torch back."""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")
from torch import nn

from mlops_testkit import MltkUsageError, assert_params_update
from mlops_testkit.mutation import Operator, available, register
from mlops_testkit.mutation.registry import AREAS, Context, builtin, check_operator
from mlops_testkit.mutation.runtime import mutant

ISSUE_OPERATORS = {
    "step_does_nothing",
    "skips_parameter_group",
    "zero_grad_never_called",
    "frozen_layer",
    "detached_output",
    "softmax_before_cross_entropy",
    "loss_sign_flipped",
    "reduction_sum",
    "train_mode_at_inference",
    "eval_mode_during_training",
    "buffers_dropped",
    "load_not_strict",
    "labels_shuffled",
    "constant_feature",
    "normalisation_skipped",
    "seed_not_applied",
    "workers_not_seeded",
}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8))
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


def batch(n: int = 32):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return x, (x[:, 0] > 0).long()


def step(model, opt=None, loss_fn=None):
    x, y = batch()
    opt = opt or torch.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    loss = (loss_fn or nn.CrossEntropyLoss())(model(x), y)
    loss.backward()
    opt.step()
    return loss


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def changed(before, model):
    return [not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True)]


def test_the_issue_operators_are_registered_with_their_documentation():
    ops = builtin()
    assert set(ops) >= ISSUE_OPERATORS
    for cls in ops.values():
        assert cls.area in AREAS
        assert cls.bug() and cls.catches and cls.example.count("\n") == 1, cls.name


def test_an_unknown_operator_is_a_usage_error_naming_it():
    with pytest.raises(MltkUsageError, match="unknown mutation operator 'nope'"), mutant("nope"):
        pass


@pytest.mark.parametrize("bad", [object, type("NoName", (Operator,), {"catches": "x"})])
def test_a_malformed_operator_is_refused(bad):
    with pytest.raises(MltkUsageError):
        check_operator(bad)


def test_a_third_party_operator_registers_and_installs():
    @register
    class Noop(Operator):
        """Does nothing, to test registration."""

        name = "noop_for_test"
        area = "mode"
        catches = "nothing"
        example = "def test():\n    pass"

    try:
        assert "noop_for_test" in available()
        with mutant("noop_for_test") as ctx:
            step(Net())
        assert ctx.triggers == 0
    finally:
        from mlops_testkit.mutation import registry

        registry._REGISTRY.pop("noop_for_test")


def test_step_does_nothing():
    model = Net()
    with mutant("step_does_nothing") as ctx:
        before = params(model)
        step(model)
        assert not any(changed(before, model))
    assert ctx.triggers == 1
    before = params(model)
    step(model)  # uninstalled: the step works again
    moved = changed(before, model)
    assert moved[0] and moved[-1]


def frozen_by(name, seed=0, grouped=False):
    """How many more parameter tensors stay put in one step under the mutant."""
    counts = []
    for mutated in (False, True):
        torch.manual_seed(0)
        model = Net()
        groups = [{"params": model.body.parameters()}, {"params": model.head.parameters()}]
        opt = torch.optim.SGD(groups if grouped else model.parameters(), lr=0.1)
        before = params(model)
        if mutated:
            with mutant(name, seed=seed) as ctx:
                step(model, opt)
        else:
            step(model, opt)
        counts.append(changed(before, model).count(False))
    return counts[1] - counts[0], ctx


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_skips_one_parameter_and_records_which(seed):
    extra, ctx = frozen_by("skips_parameter_group", seed)
    # the first Linear's bias never moves (BatchNorm cancels it): skipping it changes nothing
    assert extra in (0, 1) and "parameter" in ctx.targets[0]
    assert extra == 1 or "parameter 1 of" in ctx.targets[0]


def test_skips_a_whole_group_when_there_are_several():
    extra, ctx = frozen_by("skips_parameter_group", grouped=True)
    assert "group" in ctx.targets[0]
    assert extra == (2 if "group 1" in ctx.targets[0] else 5)  # head: 2; body: 6 minus 1


def test_zero_grad_never_called_accumulates():
    model = Net()
    with mutant("zero_grad_never_called") as ctx:
        step(model)
        first = model.head.weight.grad.clone()
        model.zero_grad()
        assert torch.equal(model.head.weight.grad, first)
    assert ctx.triggers >= 1
    model.zero_grad()
    assert model.head.weight.grad is None


def test_frozen_layer_is_caught_by_assert_params_update():
    model = Net()
    with mutant("frozen_layer") as ctx, pytest.raises(AssertionError, match="did not train"):
        assert_params_update(model, batch(), nn.CrossEntropyLoss(), expect_trainable=True)
    assert ctx.triggers and "Net." in ctx.targets[0]
    # the clean case passes
    assert_params_update(Net(), batch(), nn.CrossEntropyLoss(), expect_trainable=True)


def test_the_frozen_layer_is_the_same_for_every_model_of_a_class():
    targets = []
    for _ in range(2):
        with mutant("frozen_layer", seed=5) as ctx:
            step(Net())
            step(Net())
        targets.append(ctx.targets)
    assert targets[0] == targets[1] and len(targets[0]) == 1


def test_detached_output_stops_gradients_upstream():
    model = Net()
    with mutant("detached_output") as ctx:
        step(model)
    assert ctx.triggers
    grads = [p.grad is None or not p.grad.abs().sum() for p in model.parameters()]
    assert any(grads) and not grads[-1]  # the head still learns


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss(), nn.BCEWithLogitsLoss()])
def test_softmax_before_a_logits_loss(loss_fn):
    logits = torch.tensor([[4.0, -4.0], [-4.0, 4.0]])
    target = torch.tensor([0, 1]) if isinstance(loss_fn, nn.CrossEntropyLoss) else torch.eye(2)
    clean = loss_fn(logits, target)
    with mutant("softmax_before_cross_entropy") as ctx:
        squashed = loss_fn(logits, target)
    assert ctx.triggers == 1 and squashed > clean + 0.1


def test_loss_sign_flipped_and_reduction_sum():
    x, y = batch()
    out = Net()(x)
    clean = nn.CrossEntropyLoss()(out, y)
    with mutant("loss_sign_flipped"):
        assert torch.isclose(nn.CrossEntropyLoss()(out, y), -clean)
    with mutant("reduction_sum") as ctx:
        assert torch.isclose(nn.CrossEntropyLoss()(out, y), clean * len(y))
        nn.CrossEntropyLoss(reduction="none")(out, y)  # an explicit reduction is kept
    assert ctx.triggers == 1


def test_train_mode_at_inference():
    model = Net()
    with mutant("train_mode_at_inference") as ctx:
        model.eval()
        assert model.training
    assert ctx.triggers == 1
    assert not model.eval().training


def test_eval_mode_during_training_also_catches_a_model_never_put_in_train():
    with mutant("eval_mode_during_training") as ctx:
        model = Net()
        step(model)
        assert not model.training and not model.train().training
    assert ctx.triggers >= 2
    with mutant("eval_mode_during_training") as ctx, torch.no_grad():
        Net().eval()(batch()[0])  # inference only: nothing to change
    assert ctx.triggers == 0


def test_buffers_dropped_from_the_outermost_state_dict_only():
    model = Net()
    with mutant("buffers_dropped") as ctx:
        keys = set(model.state_dict())
    assert "body.1.running_mean" not in keys and "body.0.weight" in keys
    assert ctx.triggers == 1
    with mutant("buffers_dropped") as ctx:
        nn.Linear(2, 2).state_dict()  # no buffers: nothing to drop
    assert ctx.triggers == 0


def test_load_not_strict_keeps_one_tensor_at_its_initial_value():
    trained, fresh = Net(), Net()
    step(trained)
    with mutant("load_not_strict") as ctx:
        fresh.load_state_dict(trained.state_dict())
    key = ctx.targets[0].split(": ")[1].split(" ")[0]
    assert not torch.equal(fresh.state_dict()[key], trained.state_dict()[key])


def test_labels_shuffled_within_the_batch():
    x, y = batch()
    out = Net()(x)
    seen = []
    with mutant("labels_shuffled") as ctx:
        original = torch.nn.functional.cross_entropy

        def spy(input, target, *a, **k):
            seen.append(target)
            return original(input, target, *a, **k)

        torch.nn.functional.cross_entropy = spy
        try:
            nn.CrossEntropyLoss()(out, y)
        finally:
            torch.nn.functional.cross_entropy = original
    assert ctx.triggers == 1
    # the mutant wraps the spy's caller: the loss saw a permutation of the labels
    loss_clean = nn.CrossEntropyLoss()(out, y)
    with mutant("labels_shuffled"):
        assert not torch.isclose(nn.CrossEntropyLoss()(out, y), loss_clean)


def test_constant_feature_and_normalisation_change_the_model_input():
    model = Net().eval()
    x = batch()[0]
    for name in ("constant_feature", "normalisation_skipped"):
        seen: list = []
        model.body[0].register_forward_pre_hook(lambda m, a, seen=seen: seen.append(a[0]))
        with mutant(name) as ctx:
            model(x)
        assert ctx.triggers == 1 and not torch.equal(seen[-1], x), name
    assert ctx.targets == ["4 features"]
    with mutant("constant_feature") as ctx:
        nn.Embedding(10, 3)(torch.arange(4).reshape(1, 4))  # integer ids are not features
    assert ctx.triggers == 0


def test_seed_not_applied_breaks_reproducibility_and_is_undone():
    with mutant("seed_not_applied") as ctx:
        torch.manual_seed(1)
        a = torch.rand(3)
        torch.manual_seed(1)
        b = torch.rand(3)
        random.seed(1)
        r1 = random.random()
        random.seed(1)
        r2 = random.random()
    assert not torch.equal(a, b) and r1 != r2 and ctx.triggers == 4
    torch.manual_seed(1)
    a = torch.rand(3)
    torch.manual_seed(1)
    assert torch.equal(a, torch.rand(3))


def test_workers_not_seeded_only_where_a_loader_shuffles():
    from torch.utils.data import DataLoader

    data = list(range(20))
    with mutant("workers_not_seeded") as ctx:
        DataLoader(data, batch_size=4)  # no shuffle, no workers: nothing to seed
        assert ctx.triggers == 0
        g = torch.Generator().manual_seed(0)
        order = [b.tolist() for b in DataLoader(data, batch_size=4, shuffle=True, generator=g)]
    g = torch.Generator().manual_seed(0)
    clean = [b.tolist() for b in DataLoader(data, batch_size=4, shuffle=True, generator=g)]
    assert ctx.triggers == 1 and order != clean


def test_context_targets_are_capped_and_unique():
    ctx = Context(0)
    for i in range(50):
        ctx.fired(f"t{i % 30}")
        ctx.fired(f"t{i % 30}")
    assert ctx.triggers == 100 and len(ctx.targets) == 20
