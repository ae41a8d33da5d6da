"""Mutation operators: the base class, the registry and what an operator records.

An operator is a class registered by name with :func:`register`. It stands for one
fault ML teams ship (its docstring's first line), names the kit check that catches it
(``catches``) and a two-line example test (``example``). At run time it is installed
into one pytest process (:mod:`mlops_testkit.mutation.runtime`): ``install`` patches
torch through a :class:`Patcher` (undone by ``Patcher.undo``), ``on_model`` sees each
outermost ``nn.Module`` call before it runs. Every choice (which layer, which feature)
comes from ``ctx.rng``, seeded by the mutant's seed, and is recorded with
``ctx.fired(target)``; an operator that never fires is "not applicable".

Third-party operators come from the ``pytest_mltk_mutation_operators`` hook
(:mod:`mlops_testkit.hookspecs`).

Module top level: standard library only; operators import torch inside their methods.
"""

from __future__ import annotations

import hashlib
import random
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

AREAS = ("optimiser", "gradients", "loss", "mode", "state", "data", "randomness")
_REGISTRY: dict[str, type[Operator]] = {}


@dataclass
class Context:
    """What one installed operator may use and must record."""

    seed: int
    rng: random.Random = field(init=False)
    triggers: int = 0
    targets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def fired(self, target: str = "") -> None:
        """The fault changed something; ``target`` names what (kept once, in order)."""
        self.triggers += 1
        if target and target not in self.targets and len(self.targets) < 20:
            self.targets.append(target)

    def rng_for(self, key: str) -> random.Random:
        """A generator seeded by the mutant's seed and ``key`` (e.g. a model's class):
        the same architecture gets the same target in every test."""
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "triggers": self.triggers, "targets": list(self.targets)}


class Patcher:
    """Sets attributes and remembers how to put them back."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def setattr(self, obj: Any, name: str, value: Any) -> Any:
        old = getattr(obj, name)
        setattr(obj, name, value)
        self._undo.append(lambda: setattr(obj, name, old))
        return old

    def on_undo(self, fn: Callable[[], None]) -> None:
        self._undo.append(fn)

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()


class Operator:
    """Base of every mutation operator. Subclass, set the class attributes, register.

    Example::

        from mlops_testkit.mutation import Operator, register

        @register
        class NoDropout(Operator):
            '''Dropout never applied (p forced to 0).'''
            name = "no_dropout"
            area = "mode"
            catches = "assert_deterministic"
            example = "def test_dropout_is_on_in_training(model, x):\\n    ..."

            def install(self, patcher):
                ...
    """

    name: ClassVar[str] = ""
    area: ClassVar[str] = ""
    catches: ClassVar[str] = ""
    example: ClassVar[str] = ""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._seen: weakref.WeakSet[Any] = weakref.WeakSet()

    @classmethod
    def bug(cls) -> str:
        """The real bug this operator stands for: its docstring's first paragraph."""
        paragraph = (cls.__doc__ or cls.name).strip().split("\n\n")[0]
        return " ".join(line.strip() for line in paragraph.splitlines())

    def install(self, patcher: Patcher) -> None:
        """Patch torch (through ``patcher``) so that the fault happens."""

    def on_model(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Called before every outermost ``nn.Module`` call; may return new
        ``(args, kwargs)`` (or None to keep them)."""
        return None

    def first_time(self, module: Any) -> bool:
        """True the first time this operator sees ``module``."""
        try:
            if module in self._seen:
                return False
            self._seen.add(module)
        except TypeError:
            return False
        return True


def register(cls: type[Operator]) -> type[Operator]:
    """Register an operator class by its ``name`` (a class decorator)."""
    check_operator(cls)
    _REGISTRY[cls.name] = cls
    return cls


def check_operator(cls: Any) -> None:
    from mlops_testkit import MltkUsageError

    if not (isinstance(cls, type) and issubclass(cls, Operator)):
        raise MltkUsageError(f"a mutation operator must subclass Operator, got {cls!r}")
    if not cls.name or not cls.name.replace("_", "").isalnum():
        raise MltkUsageError(
            f"operator {cls.__name__}: name must be a non-empty identifier, got {cls.name!r}"
        )
    for attr in ("catches", "example"):
        if not isinstance(getattr(cls, attr), str) or not getattr(cls, attr):
            raise MltkUsageError(f"operator {cls.name!r}: set {attr} (a non-empty string)")


def builtin() -> dict[str, type[Operator]]:
    """The kit's own operators, by name, in registration order."""
    import mlops_testkit.mutation.operators  # noqa: F401  (registers them)

    def area(cls: type[Operator]) -> int:
        return AREAS.index(cls.area) if cls.area in AREAS else len(AREAS)

    return {cls.name: cls for cls in sorted(_REGISTRY.values(), key=area)}


def available(pluginmanager: Any = None) -> dict[str, type[Operator]]:
    """The kit's operators plus those other plugins return from
    ``pytest_mltk_mutation_operators``."""
    found = builtin()
    if pluginmanager is not None:
        hook = getattr(pluginmanager.hook, "pytest_mltk_mutation_operators", None)
        if hook is not None:
            for extra in hook():
                for cls in extra or ():
                    check_operator(cls)
                    found[cls.name] = cls
    return found


# --- helpers shared by operators --------------------------------------------------------


def trainable_layers(module: Any) -> list[tuple[str, Any]]:
    """Submodules that own parameters directly (Linear, BatchNorm, ...), named."""
    layers = []
    for name, sub in module.named_modules():
        if sub is module and any(True for _ in module.children()):
            continue
        if any(True for _ in sub.parameters(recurse=False)):
            layers.append((name or "(root)", sub))
    return layers


def pick_layer(ctx: Context, module: Any) -> tuple[str, Any] | None:
    """One trainable layer of ``module``, the same for every model of its class."""
    layers = trainable_layers(module)
    if not layers:
        return None
    rng = ctx.rng_for(type(module).__qualname__ + f"/{len(layers)}")
    name, layer = layers[rng.randrange(len(layers))]
    return f"{type(module).__name__}.{name} ({type(layer).__name__})", layer


def wrap_functions(
    patcher: Patcher, module: Any, names: Iterable[str], make: Callable[[str, Any], Any]
) -> None:
    """Replace ``module.name`` by ``make(name, original)`` for each name that exists."""
    for name in names:
        original = getattr(module, name, None)
        if original is not None:
            patcher.setattr(module, name, make(name, original))
