"""``HardwareCallback``: export and check the firmware arithmetic after every epoch."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._keras import keras
from .cost import ebops


def _estimate(graph: Any) -> dict[str, Any]:
    """LUT/DSP/latency from hlsforge's resource estimator, when it is installed."""
    try:
        from .. import resources  # type: ignore[attr-defined]
    except ImportError:
        return {}
    est = getattr(resources, "estimate", None)
    if est is None:
        return {}
    from ..errors import HlsforgeError

    try:
        r = est(graph)
    except HlsforgeError as e:  # recorded in the row: an unsupported layer must not stop training
        return {"estimate_error": str(e)}
    out: dict[str, Any] = {}
    for key in ("lut", "dsp", "ff", "latency_cycles", "latency_ns"):
        v = getattr(r, key, None) if not isinstance(r, dict) else r.get(key)
        if v is not None:
            out[key] = float(v)
    return out


class HardwareCallback(keras.callbacks.Callback):
    """At the end of every ``every``-th epoch: export the model (``hlsforge.load``), count
    the rows of ``x_val`` where the bit-exact emulator differs from the Keras forward (must be
    0), record the accuracy (when ``y_val`` is given: argmax, or the sign for one output),
    EBOPs and — when the resource estimator is installed — LUT/DSP/latency. ``history`` holds
    one dict per check; with ``log_dir`` they also go to ``hardware.csv`` and a plot
    ``hardware.png`` (accuracy and EBOPs over the epochs). ``raise_on_mismatch`` stops
    training at the first mismatch.
    """

    def __init__(self, x_val: Any, every: int = 1, log_dir: str | Path | None = None, *, y_val: Any = None,
                 raise_on_mismatch: bool = False) -> None:
        super().__init__()
        self.x_val = np.asarray(x_val, dtype=np.float32)
        self.y_val = None if y_val is None else np.asarray(y_val)
        self.every = max(1, int(every))
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.raise_on_mismatch = raise_on_mismatch
        self.history: list[dict[str, Any]] = []

    def _accuracy(self, y: np.ndarray) -> float | None:
        if self.y_val is None:
            return None
        t = self.y_val
        if y.ndim > 1 and y.shape[-1] > 1:
            labels = t.argmax(-1) if t.ndim > 1 and t.shape[-1] > 1 else t.reshape(len(t))
            return float(np.mean(y.argmax(-1) == labels))
        return float(np.mean((y.reshape(len(y)) > 0.5) == (t.reshape(len(t)) > 0.5)))

    def check(self, epoch: int) -> dict[str, Any]:
        from .tools import verify

        t0 = time.perf_counter()
        report = verify(self.model, self.x_val)
        from ..quantize import emulate

        assert report.graph is not None
        y = np.asarray(emulate.run(report.graph, self.x_val))
        row: dict[str, Any] = {"epoch": epoch + 1, "mismatches": report.mismatches,
                               "mismatches_float64": report.mismatches_float64,
                               "accuracy": self._accuracy(y), "ebops": float(ebops(self.model))}
        row.update(_estimate(report.graph))
        row["check_seconds"] = round(time.perf_counter() - t0, 3)
        return row

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (epoch + 1) % self.every:
            return
        row = self.check(epoch)
        self.history.append(row)
        if logs is not None:
            logs.update({f"hw_{k}": v for k, v in row.items() if isinstance(v, (int, float)) and k != "epoch"})
        if self.log_dir is not None:
            self.write()
        bad = row["mismatches_float64"] if row["mismatches_float64"] is not None else row["mismatches"]
        if bad and self.raise_on_mismatch:
            from ..errors import HlsforgeError

            raise HlsforgeError(f"epoch {epoch + 1}: the emulator differs from Keras on {bad} rows of x_val")

    def write(self) -> None:
        """Write ``hardware.csv`` and ``hardware.png`` into ``log_dir``."""
        assert self.log_dir is not None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        keys = list(dict.fromkeys(k for row in self.history for k in row))
        with open(self.log_dir / "hardware.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self.history)
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:  # pragma: no cover - matplotlib is in the train extra
            return
        epochs = [r["epoch"] for r in self.history]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(epochs, [r["ebops"] for r in self.history], "o-", color="tab:blue")
        ax.set_xlabel("epoch")
        ax.set_ylabel("EBOPs", color="tab:blue")
        if any(r["accuracy"] is not None for r in self.history):
            ax2 = ax.twinx()
            ax2.plot(epochs, [r["accuracy"] for r in self.history], "s-", color="tab:red")
            ax2.set_ylabel("accuracy (emulator)", color="tab:red")
        ax.set_title("accuracy and resources over training")
        fig.tight_layout()
        fig.savefig(self.log_dir / "hardware.png", dpi=100)
        plt.close(fig)
