"""Plots for the report: a PNG (matplotlib, embedded as base64) and always a text
rendering, which shows anywhere (a GitHub job summary, a GitLab note, a terminal).

Each function returns ``(png_base64_or_None, text)``. A chart whose values are all zero
says so in words instead of drawing empty bars.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any


def _matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _png(plt: Any, fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def bar(value: float, top: float, width: int = 24) -> str:
    """A text bar: ``███·····`` for ``value`` out of ``top``."""
    filled = 0 if top <= 0 else round(width * max(value, 0.0) / top)
    filled = min(filled, width)
    return "█" * filled + "·" * (width - filled)


def all_zero(values: Sequence[float]) -> bool:
    return bool(values) and all(v == 0 for v in values)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    threshold: float | None = None,
    threshold_label: str = "threshold",
    horizontal: bool = False,
    fmt: str = "{:.3f}",
) -> tuple[str | None, str]:
    """A bar per label, with an optional threshold line."""
    if all_zero(values):
        text = f"all {len(values)} value(s) are 0: " + ", ".join(labels[:12])
        if threshold is not None:
            text += f" (threshold {fmt.format(threshold)})"
        return None, text
    top = max([*values, threshold or 0, 1e-12])
    width = max((len(str(label)) for label in labels), default=0)
    width = min(max(width, 8), 30)
    text = "\n".join(
        f"{str(label)[:30]:>{width}}  {bar(v, top)} {fmt.format(v)}"
        for label, v in zip(labels, values, strict=True)
    )
    if threshold is not None:
        text += f"\n{threshold_label[:30]:>{width}}  {bar(threshold, top)} {fmt.format(threshold)}"
    plt = _matplotlib()
    if plt is None:
        return None, text
    height = 0.4 + 0.35 * len(values) if horizontal else 2.6
    fig, ax = plt.subplots(figsize=(6 if horizontal else 5, height))
    if horizontal:
        ax.barh([str(label) for label in labels], values)
        if threshold is not None:
            ax.axvline(threshold, color="red", linestyle="--", label=threshold_label)
    else:
        ax.bar([str(label) for label in labels], values)
        if threshold is not None:
            ax.axhline(threshold, color="red", linestyle="--", label=threshold_label)
    if threshold is not None:
        ax.legend()
    ax.set_title(title)
    return _png(plt, fig), text


def histograms(
    edges: Sequence[float], reference: Sequence[float], current: Sequence[float], *, title: str
) -> tuple[str | None, str]:
    """Reference and current shares on common bins."""
    top = max([*reference, *current, 1e-12])
    text = "\n".join(
        f"{edges[i]:>10.4g}  ref {bar(reference[i], top, 16)}  cur {bar(current[i], top, 16)}"
        for i in range(len(reference))
    )
    plt = _matplotlib()
    if plt is None:
        return None, text
    fig, ax = plt.subplots(figsize=(5, 2.6))
    mids = [(edges[i] + edges[i + 1]) / 2 for i in range(len(reference))]
    step = edges[1] - edges[0]
    ax.bar(mids, reference, width=step, alpha=0.5, label="reference")
    ax.bar(mids, current, width=step, alpha=0.5, label="current")
    ax.set_title(title)
    ax.legend()
    return _png(plt, fig), text


def line(values: Sequence[float | None], *, xlabel: str, ylabel: str) -> tuple[str | None, str]:
    """A curve (e.g. the loss per step), log scale when every value is positive."""
    finite = [v for v in values if v is not None]
    if all_zero(finite):
        return None, f"all {len(finite)} value(s) are 0"
    top = max([*finite, 1e-12])
    picks = list(values[:: max(1, len(values) // 12)])
    text = "\n".join(f"{(v or 0.0):>10.4g}  {bar(v or 0.0, top)}" for v in picks)
    plt = _matplotlib()
    if plt is None:
        return None, text
    fig, ax = plt.subplots(figsize=(5, 2.4))
    ax.plot([float("nan") if v is None else v for v in values])
    ax.set_yscale("log" if finite and min(finite) > 0 else "linear")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _png(plt, fig), text


def reliability(
    curves: Sequence[tuple[str, Sequence[dict[str, Any]]]], *, title: str
) -> str | None:
    """A reliability diagram (PNG, or None without matplotlib): the diagonal, then one
    curve per ``(label, bins)``, each bin a mapping with ``confidence`` and ``observed``.
    The first curve is the overall one; the others (failing segments) are drawn dashed
    in warm colours so they stand out."""
    plt = _matplotlib()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    warm = ("tab:red", "tab:orange", "tab:purple", "tab:brown", "tab:pink")
    for i, (label, bins) in enumerate(curves):
        ax.plot(
            [b["confidence"] for b in bins],
            [b["observed"] for b in bins],
            marker="o" if i == 0 else "s",
            linestyle="-" if i == 0 else "--",
            color="tab:blue" if i == 0 else warm[(i - 1) % len(warm)],
            label="model" if i == 0 and len(curves) == 1 else str(label)[:40],
        )
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize="small" if len(curves) > 2 else None)
    ax.set_title(title)
    return _png(plt, fig)
