"""Calibrated post-training quantization: per-layer types chosen from data.

Why: ``ap_fixed<16,6>`` everywhere is both too wide (most layers need fewer bits) and unsafe
(a layer whose values exceed ±32 wraps). From calibration data hlsforge can choose each
layer's integer bits so nothing overflows, then take fractional bits away layer by layer for
as long as the quantized model still meets a target, spending bits where they matter.

Algorithm (docs/numerics.md, "Calibrated post-training quantization"):

1. **Ranges.** The float reference runs on the calibration data; each value's ``[min, max]``
   (graph inputs, every layer's output, every weight array) gives its integer bits:
   the fewest such that ``max(|min|, |max|) · (1 + margin)`` fits (unsigned when ``min ≥ 0``).
   ``margin`` (default :data:`DEFAULT_MARGIN` = 0.25) is headroom for data beyond the
   calibration set; results saturate (``AP_SAT``) rather than wrap if it is exceeded.
2. **Start.** Every fractional-bit knob — the graph input, each layer's weights and its
   result — starts at :data:`START_FRAC`; more is tried if that misses the target.
   Accumulators take the result's integer bits and wrap: modular arithmetic makes the final
   sum exact whenever the result fits. Their fractional bits start at every product bit
   (``frac_in + frac_w``, no error) and are a knob too. Layers that change no value (ReLU, max pooling, reshapes,
   concatenation) keep their input's fractional bits. Recurrent cells and LayerNormalization
   have knobs for every internal type (weights, accumulators, cell state, table entries and
   table size), chosen from ranges observed in their own float math
   (``quantize/_calibrate_recurrent.py``).
3. **Descend.** Knobs are visited in order of how much cost one bit of each saves; each is
   lowered by bisection to the fewest fractional bits that still meet the target, the others
   held. The target is argmax agreement with the float model (default ≥ 99.9 %; a tie for the
   maximum counts as a disagreement) or a bound on the largest absolute output error, both
   measured on the calibration data, where only half the budget (:data:`SAFETY`) may be spent.
4. **Cost** is the resource estimate (``hlsforge.estimate``: LUT and DSP as fractions of the
   part) when that package is present, else a bit count (multiplier input widths plus
   activation widths).

Returns a :class:`Calibration`: the configuration (native schema, dumpable as YAML), the
per-layer choices with the reason for each, the agreement reached and the cost.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import HlsforgeError, InputError, PrecisionError
from ..ir.graph import Graph
from ..ir.ops import Op
from ..ir.types import FixedType, Overflow, Rounding, parse_type, type_to_str
from ..progress import track

__all__ = ["calibrate", "Calibration", "LayerChoice", "DEFAULT_MARGIN", "START_FRAC"]

DEFAULT_MARGIN = 0.25
"""Relative headroom over the calibration range when choosing integer bits."""

START_FRAC = 12
"""Fractional bits every knob starts from (if the target is missed: tried at 18 and 24, then
bisected to the fewest equal bits that meet it)."""

MIN_FRAC = -4
"""Fewest fractional bits tried (negative: the LSB is larger than 1)."""

MAX_PASSES = 3
"""Most descent passes over the knobs. A later pass can lower a knob again: an accumulator's
exact width follows the input and weight bits chosen after it, and rounding errors of
neighbouring layers partly cancel. Passes stop as soon as one saves nothing."""

SAFETY = 0.5
"""Fraction of the target's budget (disagreements, or output error) the search may spend on
the calibration data; the rest is headroom for unseen events."""

TABLE = FixedType(18, 8)
SOFTMAX_TABLE = FixedType(18, 8, True, Rounding.RND, Overflow.SAT)
PARAM = FixedType(18, 8)

_DOT = (Op.DENSE, Op.CONV1D, Op.CONV2D)
_PASS = (Op.RELU, Op.MAXPOOL1D, Op.MAXPOOL2D, Op.GLOBAL_MAXPOOL, Op.FLATTEN, Op.RESHAPE, Op.TRANSPOSE, Op.PAD,
         Op.CONCAT, Op.SLICE, Op.GATHER)
_TABLES = (Op.SIGMOID, Op.TANH, Op.ELU, Op.SELU, Op.SOFTPLUS)


@dataclass
class LayerChoice:
    """What calibration chose for one layer, and why."""

    name: str
    op: str
    lo: float
    hi: float
    result: str
    weight: str | None = None
    accum: str | None = None
    reason: str = ""


@dataclass
class Calibration:
    """The result of :func:`calibrate`."""

    config: dict[str, Any]
    layers: list[LayerChoice]
    target: str
    agreement: float
    max_error: float
    cost: dict[str, float]
    cost_kind: str
    start_cost: dict[str, float]
    evaluations: int
    notes: list[str] = field(default_factory=list)
    met: bool = True  # the returned configuration meets the target on the calibration data
    expected_agreement: float | None = None  # argmax agreement estimated for unseen events (decoupled_agreement)

    def to_yaml(self) -> str:
        """The configuration as YAML (needs PyYAML), ready for ``--config``."""
        try:
            import yaml
        except ImportError:
            raise PrecisionError("writing YAML needs PyYAML: pip install 'hlsforge[yaml]'") from None
        return str(yaml.safe_dump(self.config, sort_keys=False))

    def report(self) -> str:
        """A table of the choices, the target reached and the cost before/after the descent."""
        rows = [("layer", "op", "range", "result", "weight", "accum", "why")]
        for c in self.layers:
            rows.append((c.name, c.op, f"[{c.lo:.4g}, {c.hi:.4g}]", c.result, c.weight or "", c.accum or "", c.reason))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        cost = ", ".join(f"{k} {v:g}" for k, v in self.cost.items() if k != "objective")
        start = ", ".join(f"{k} {v:g}" for k, v in self.start_cost.items() if k != "objective")
        lines += [
            "",
            f"target: {self.target}; reached: argmax agreement {100 * self.agreement:.3f} %, "
            f"max |error| {self.max_error:.4g} (on the calibration data)"
            + (f"; expected on unseen events: {100 * self.expected_agreement:.3f} %"
               if self.expected_agreement is not None else ""),
            f"cost ({self.cost_kind}): {cost}  (all knobs at the start: {start}); {self.evaluations} evaluations",
        ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


# ----------------------------------------------------------------------------- helpers


def integer_bits(lo: float, hi: float, margin: float) -> tuple[int, bool]:
    """``(integer bits, signed)`` holding ``[lo, hi]`` with relative headroom ``margin``."""
    signed = lo < 0
    m = max(abs(lo), abs(hi)) * (1.0 + margin)
    if not math.isfinite(m):
        raise InputError("calibration data produce infinite or NaN values")
    if m <= 0:
        return (1 if signed else 0), signed
    e = math.floor(math.log2(m)) + 1  # 2**e > m
    return e + int(signed), signed


def _fixed(i: int, signed: bool, frac: int, *, sat: bool = True) -> FixedType:
    width = max(i + frac, 1 + int(signed))
    integer = width - frac
    if sat:
        return FixedType(width, integer, signed, Rounding.RND, Overflow.SAT)
    return FixedType(width, integer, signed)


def _const_type(values: np.ndarray, frac: int) -> FixedType:
    """The narrowest signed type with ``frac`` fractional bits holding every value of a
    constant after rounding (``AP_RND``: ties up), so no weight saturates."""
    from .infer import type_for_raw_range

    v = np.asarray(values, dtype=np.float64)
    raw = np.floor(v * 2.0**frac + 0.5) if v.size else np.zeros(1)
    t = type_for_raw_range(int(raw.min()), int(raw.max()), frac, signed=True)
    return FixedType(max(t.width, 2), t.integer + max(2 - t.width, 0), True, Rounding.RND, Overflow.SAT)


@dataclass
class _Target:
    kind: str  # "argmax" | "max_error"
    value: float

    def met(self, agreement: float, max_error: float) -> bool:
        """Met on the calibration data with half the allowed disagreement (or error) to spare:
        :data:`SAFETY` keeps the target on events the calibration did not see."""
        if self.kind == "argmax":
            return agreement >= 1.0 - (1.0 - self.value) * SAFETY
        return max_error <= self.value * SAFETY

    def __str__(self) -> str:
        return f"argmax agreement >= {100 * self.value:g} %" if self.kind == "argmax" else f"max |error| <= {self.value:g}"


def _parse_target(target: Any) -> _Target:
    if isinstance(target, _Target):
        return target
    if isinstance(target, (int, float)) and not isinstance(target, bool) and 0 < float(target) <= 1:
        return _Target("argmax", float(target))
    if isinstance(target, Mapping) and len(target) == 1:
        (k, v), = target.items()
        if k in ("argmax", "agreement") and isinstance(v, (int, float)) and 0 < float(v) <= 1:
            return _Target("argmax", float(v))
        if k in ("max_error", "error") and isinstance(v, (int, float)) and float(v) > 0:
            return _Target("max_error", float(v))
    if isinstance(target, str):
        kind, _, val = target.partition(":")
        try:
            return _parse_target({kind.strip(): float(val)} if val else {kind.strip(): 0.999})
        except (ValueError, PrecisionError):
            pass
    raise PrecisionError(
        f"calibrate: target must be an argmax agreement in (0, 1] (e.g. 0.999), {{'argmax': 0.999}} or "
        f"{{'max_error': 0.01}}, got {target!r}"
    )


def _first_output(y: Any) -> np.ndarray:
    if isinstance(y, Mapping):
        y = next(iter(y.values()))
    return np.asarray(y, dtype=np.float64).reshape(len(y), -1)


def float_margins(ref: np.ndarray) -> np.ndarray:
    """Per event, the float model's lead of its top output over the runner-up (0 with one output)."""
    if ref.shape[1] < 2:
        return np.full(len(ref), np.inf)
    two = np.partition(ref, ref.shape[1] - 2, axis=1)[:, -2:]
    return two[:, 1] - two[:, 0]


BOUNDARY_FRACTION = 0.05
"""Share of calibration events, those with the smallest float lead, whose errors model the
errors of events near a decision boundary (:func:`decoupled_agreement`)."""


def decoupled_agreement(y: np.ndarray, ref: np.ndarray, sorted_margins: np.ndarray) -> float:
    """Argmax agreement expected on *unseen* events, estimated by pairing quantization errors
    near the decision boundary with every event's float lead.

    Why: a target such as 99.9 % allows a handful of disagreements on a few thousand
    calibration events, so the observed count says little about held-out events (two flips
    on the calibration set were six on the benchmark's held-out set). An event flips when the
    error of its lead (top output minus runner-up, quantized minus float) is below minus its
    float lead. The errors that matter are those of events close to a boundary (a softmax's
    lead moves most there), so the errors of the :data:`BOUNDARY_FRACTION` of events with the
    smallest lead are paired with the leads of all events: the flip probability is
    ``mean_j P_i(err_i <= -lead_j)``, an average over many pairs with far less variance than
    the count of flips. A tie counts as a flip, as in :func:`argmax_agreement`.
    """
    if ref.shape[1] < 2:
        return 1.0
    rows = np.arange(len(ref))
    top = ref.argmax(axis=1)
    masked = ref.copy()
    masked[rows, top] = -np.inf
    second = masked.argmax(axis=1)
    lead = ref[rows, top] - ref[rows, second]
    err = (y[rows, top] - y[rows, second]) - lead
    near = np.argsort(lead, kind="stable")[: max(50, int(BOUNDARY_FRACTION * len(lead)))]
    boundary_err = np.sort(err[near])
    flips = np.searchsorted(boundary_err, -sorted_margins, side="right") / len(boundary_err)
    return float(1.0 - flips.mean())


def argmax_agreement(y: np.ndarray, ref_arg: np.ndarray) -> float:
    """Fraction of events whose argmax equals the float model's, counting a tie for the
    maximum as a disagreement (which index the hardware picks is then arbitrary)."""
    top = y.max(axis=1, keepdims=True)
    unique = np.count_nonzero(y == top, axis=1) == 1
    return float(np.mean(unique & (y.argmax(axis=1) == ref_arg)))


def check_fixed_point(graph: Graph) -> None:
    """Refuse, naming the layer, a graph with an op that has no fixed-point form (Conv3D,
    MatMul of two activations, attention, …): ``configure`` would refuse every configuration,
    and the search would only report a target it cannot meet."""
    from ..errors import UnsupportedOpError
    from .config import OP_VARIABLES, UNSUPPORTED

    for node in graph.nodes:
        if node.op in UNSUPPORTED or node.op not in OP_VARIABLES:
            why = UNSUPPORTED.get(node.op, "no fixed-point rule")
            raise UnsupportedOpError(f"calibrate: {node.describe()} has no fixed-point form ({why}); "
                                     "calibration needs one for every layer")


def default_typed(graph: Graph, layers: Mapping[str, Mapping[str, Any]], default: str) -> list[str]:
    """One note per layer whose op has types calibration sets no knob for: they stay at the
    model default (``default``), which the user should know rather than discover."""
    from ._calibrate_recurrent import unused
    from .config import _FALLBACK, OP_VARIABLES

    notes = []
    for node in graph.nodes:
        entry = layers.get(node.name, {})
        missing = []
        for var in OP_VARIABLES.get(node.op, ()):
            if var in entry or any(var in _FALLBACK.get((node.op, v), ()) for v in entry) or var in unused(node):
                continue  # set, only the fallback of a variable that is set, or not used by this node
            if var == "weight" and not any(graph.values[i].is_constant for i in node.inputs):
                continue  # a binary op's constant operand type: none here
            missing.append(var)
        if missing and node.op is not Op.QUANTIZE:
            notes.append(f"{node.name} ({node.op.value}): {', '.join(missing)} stay at the default {default} "
                         "(calibration has no knob for them)")
    return notes


def beyond_part(cost: Mapping[str, float], part: str | None) -> list[str]:
    """A note when the estimate of the returned configuration exceeds the part: the target was
    met, but only with more LUT, DSP or block RAM than the device has (large tables in unrolled
    recurrent layers do that); a looser target or a bigger part is the user's choice."""
    from ..resources import DEFAULT_PART, get_part

    dev = get_part(part or DEFAULT_PART)
    over = [f"{k} {cost[k]:g} of {n:g}" for k, n in dev.totals().items() if k in cost and cost[k] > n]
    if not over:
        return []
    return [f"the estimate exceeds {dev.name}: {', '.join(over)}; the target needs that much here "
            "(a looser target, or a bigger part)"]


# ----------------------------------------------------------------------------- the search


class _Search:
    def __init__(self, graph: Graph, x: Any, target: _Target, margin: float, cost: Callable[[Graph], dict[str, float]],
                 quiet: bool | None, guard: int = 1) -> None:
        from .. import reference

        self.guard = guard
        self.g = graph
        self.x = x
        self.target = target
        self.margin = margin
        self.cost_fn = cost
        self.quiet = quiet
        self.evals = 0
        trace = reference.run(graph, x, trace=True)
        self.ref = _first_output(reference.run(graph, x))
        self.ref_arg = self.ref.argmax(axis=1)
        self.sorted_margins = np.sort(float_margins(self.ref))
        self.expected = 1.0  # decoupled_agreement of the last evaluation
        keys = reference.trace_keys(graph)
        self.ranges: dict[str, tuple[float, float]] = {}
        arrays = graph.prepare_inputs(x)
        for name, a in arrays.items():
            a = np.asarray(a, dtype=np.float64)
            self.ranges[name] = (float(a.min()), float(a.max()))
        for node in graph.nodes:
            y = np.asarray(trace[keys[node.name]], dtype=np.float64)
            if not np.isfinite(y).all():
                raise InputError(f"{node.describe()}: the float model gives NaN or inf on the calibration data")
            self.ranges[node.outputs[0]] = (float(y.min()), float(y.max()))
        from . import _calibrate_recurrent as rec

        check_fixed_point(graph)
        env = reference.values(graph, x) if any(n.op in rec.OPS for n in graph.nodes) else {}
        self.internal = {n.name: rec.observe(graph, n, env) for n in graph.nodes if n.op in rec.OPS}
        for node in graph.nodes:  # a state type also holds the initial state
            if "result" in self.internal.get(node.name, {}):
                (a, b), (c, d) = self.ranges[node.outputs[0]], self.internal[node.name]["result"]
                self.ranges[node.outputs[0]] = (min(a, c), max(b, d))
        self.knobs: dict[str, int] = {}
        self.bounds: dict[str, tuple[int, int | None]] = {}  # knobs not in fractional bits (table sizes)
        for name in graph.inputs:
            self.knobs[f"input:{name}"] = START_FRAC
        for node in graph.nodes:
            if node.op in rec.OPS:  # their own module: weights, accumulators, cell, tables
                own = rec.knobs(node, START_FRAC)
                self.knobs.update(own)
                self.bounds.update({k: rec.knob_bounds(k, MIN_FRAC) for k in own})
            if node.op in _DOT or node.op is Op.BATCHNORM:
                self.knobs[f"weight:{node.name}"] = START_FRAC
            if node.op not in _PASS and node.op is not Op.QUANTIZE:
                self.knobs[f"result:{node.name}"] = START_FRAC
            if node.op in _DOT:
                self.knobs[f"accum:{node.name}"] = 2 * START_FRAC  # extra bits over the result's

    # ------------------------------------------------------------------ config from knobs

    def config(self, knobs: Mapping[str, int]) -> tuple[dict[str, Any], list[LayerChoice]]:
        from . import _calibrate_recurrent as rec

        g = self.g
        frac: dict[str, int] = {}
        types: dict[str, FixedType] = {}
        inputs = {}
        for name in g.inputs:
            i, s = integer_bits(*self.ranges[name], self.margin)
            t = _fixed(i, s, knobs[f"input:{name}"])
            inputs[name] = type_to_str(t)
            frac[name], types[name] = t.frac, t
        layers: dict[str, Any] = {}
        choices: list[LayerChoice] = []
        for node in g.nodes:
            out = node.outputs[0]
            lo, hi = self.ranges[out]
            i, s = integer_bits(lo, hi, self.margin)
            acts = [v for v in node.inputs if not g.values[v].is_constant]
            in_frac = max((frac.get(v, START_FRAC) for v in acts), default=START_FRAC)
            entry: dict[str, Any] = {}
            choice = LayerChoice(node.name, node.op.value, lo, hi, "")
            if node.op is Op.QUANTIZE:
                t = node.attrs.target
                frac[out], types[out] = t.frac, t
                choice.result, choice.reason = type_to_str(t), "the model's quantizer"
                choices.append(choice)
                continue
            if node.op in _PASS:
                t = _fixed(i, s, in_frac, sat=False)
                choice.reason = "changes no value: the input's fractional bits"
            else:
                t = _fixed(i, s, knobs[f"result:{node.name}"])
            entry["result"] = type_to_str(t)
            if node.op in _DOT or node.op is Op.BATCHNORM:
                fw = knobs[f"weight:{node.name}"]
                w = np.asarray(g.values[node.inputs[1]].data, dtype=np.float64)
                b = np.asarray(g.values[node.inputs[2]].data, dtype=np.float64) if len(node.inputs) > 2 else np.zeros(1)
                wt, bt = _const_type(w, fw), _const_type(b, fw)
                entry["scale" if node.op is Op.BATCHNORM else "weight"] = type_to_str(wt)
                entry["bias"] = type_to_str(bt)
                choice.weight = type_to_str(wt)
                if node.op in _DOT:
                    af = min(in_frac + wt.frac, t.frac + knobs[f"accum:{node.name}"])
                    # the result's integer bits (a wrapping accumulator ends exact when the result
                    # fits); fractional bits: every product bit, or fewer when the knob says so
                    acc = FixedType(i + af, i, True) if i + af >= 2 else FixedType(2, 2 - af, True)
                    entry["accum"] = type_to_str(acc)
                    choice.accum = entry["accum"]
            elif node.name in self.internal:
                own, shown = rec.entry(g, node, knobs, self.internal[node.name],
                                       types.get(acts[0], FixedType(16, 6)) if acts else FixedType(16, 6), t, self.margin)
                entry.update(own)
                choice.weight, choice.accum = shown["weight"], shown["accum"]
            elif node.op in (Op.AVGPOOL1D, Op.AVGPOOL2D, Op.GLOBAL_AVGPOOL):
                entry["accum"] = "auto"
                entry["scale"] = type_to_str(FixedType(18, 0, False, Rounding.RND))
            elif node.op in _TABLES:
                entry["table"] = type_to_str(TABLE)
                if node.op is Op.SELU:
                    entry["param"] = type_to_str(PARAM)
            elif node.op is Op.SOFTMAX:
                entry.update(exp_table=type_to_str(SOFTMAX_TABLE), inv_table=type_to_str(SOFTMAX_TABLE), sum="auto")
            elif node.op in (Op.LEAKY_RELU, Op.CLIP, Op.HARD_SIGMOID):
                entry["param"] = type_to_str(PARAM)
            elif node.op in (Op.ADD, Op.SUB, Op.MUL) and any(g.values[v].is_constant for v in node.inputs):
                c = np.concatenate([np.asarray(g.values[v].data, np.float64).ravel()
                                    for v in node.inputs if g.values[v].is_constant])
                entry["weight"] = type_to_str(_const_type(c, START_FRAC + 4))
            layers[node.name] = entry
            for i, o in enumerate(node.outputs):  # a recurrent Y_h is the state too; LSTM's Y_c the cell
                ot = parse_type(entry["cell"]) if i == 2 and "cell" in entry else t
                frac[o], types[o] = ot.frac, ot
            choice.result = entry["result"]
            choices.append(choice)
        cfg = {"model": {"default": "ap_fixed<16,6>", "input": inputs if len(inputs) > 1 else next(iter(inputs.values())),
                         "table_size": 1024}, "layers": layers}
        return cfg, choices

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, knobs: Mapping[str, int]) -> tuple[bool, float, float, dict[str, float]]:
        from . import emulate
        from .config import configure

        cfg, _ = self.config(knobs)
        self.evals += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                q = configure(self.g, cfg)
                y = _first_output(emulate.run(q, self.x))
            except HlsforgeError:
                return False, 0.0, math.inf, {"objective": math.inf}
        agreement = argmax_agreement(y, self.ref_arg)
        self.expected = decoupled_agreement(y, self.ref, self.sorted_margins)
        max_error = float(np.max(np.abs(y - self.ref)))
        # argmax: the stricter of what was seen and what unseen events are expected to give
        met = self.target.met(min(agreement, self.expected) if self.target.kind == "argmax" else agreement, max_error)
        return met, agreement, max_error, self.cost_fn(q)

    def run(self) -> tuple[dict[str, int], list[str], dict[str, float]]:
        notes: list[str] = []
        missed = None  # the last start that missed the target
        for start in (START_FRAC, 18, 24):
            knobs = {k: self._start(k, start) for k in self.knobs}
            ok, agr, err, cost = self.evaluate(knobs)
            if ok:
                break
            missed = start
        else:
            notes.append(f"the target is not met even with 24 fractional bits everywhere (agreement {agr:.4f}, "
                         f"max error {err:.3g}); the widest configuration is returned")
            return knobs, notes, cost
        start_cost = cost
        if missed is not None:
            knobs = self._uniform_start(missed + 1, start)
        cost_now = self._cost_only(knobs)
        for _ in track(range(MAX_PASSES), "calibrate: fractional bits", quiet=self.quiet):
            knobs = self._descend(knobs, cost_now)
            cost_before, cost_now = cost_now, self._cost_only(knobs)
            if cost_now >= cost_before:
                break
        knobs = self._tables_jointly(knobs)
        if self.guard:
            from ._calibrate_recurrent import guarded as takes_guard

            guarded = {k: v + (self.guard if takes_guard(k) else 0) for k, v in knobs.items()}
            if self.evaluate(guarded)[0]:  # rounding is not monotonic in the bits: check
                notes.append(f"{self.guard} guard bit(s) added to every fractional-bit choice, so data beyond "
                             "the calibration set keeps the target")
                return guarded, notes, start_cost
            notes.append("guard bits were dropped: with them the calibration data missed the target")
        return knobs, notes, start_cost

    def _uniform_start(self, lo: int, hi: int) -> dict[str, int]:
        """The fewest equal fractional bits in ``[lo, hi]`` meeting the target (``hi`` does).
        Why: the descent lowers knobs one at a time, the first ones while all others are still
        wide; starting 6 bits above what the model needs lets those take all the slack and
        leaves none for the rest (a GRU's state then stays wider than the default's)."""
        start = _fewest(lo, hi, lambda bits: self.evaluate({k: self._start(k, bits) for k in self.knobs})[0])
        return {k: self._start(k, start) for k in self.knobs}

    def _descend(self, knobs: dict[str, int], now: float) -> dict[str, int]:
        """One pass: each knob, in order of the cost 2 bits of it save (``now``: the cost of
        ``knobs``), bisected down to the fewest bits that meet the target with the others as
        they are."""
        knobs = dict(knobs)
        saving = {}
        for k in self.knobs:
            trial = dict(knobs)
            trial[k] = max(knobs[k] - 2, self.bounds.get(k, (MIN_FRAC, None))[0])
            saving[k] = now - self._cost_only(trial)
        for k in sorted(self.knobs, key=lambda k: -saving[k]):
            lowest = self.bounds.get(k, (MIN_FRAC, None))[0]
            knobs[k] = _fewest(lowest, knobs[k], lambda bits, k=k: self.evaluate({**knobs, k: bits})[0])
        return knobs

    def _tables_jointly(self, knobs: dict[str, int]) -> dict[str, int]:
        """Size and entry bits of each table together: a ROM costs by entries × width in steps
        (a block RAM holds 1024×18, 2048×9 or 4096×4 bits), which one knob at a time does not
        see — a larger table of narrower entries can be cheaper and as accurate. The pairs
        near the descent's choice are costed, then tried in order of cost; the first that meets
        the target is kept if it is cheaper."""
        from ._calibrate_recurrent import table_pairs

        for size_key, frac_key in table_pairs(knobs):
            lo_size = self.bounds[size_key][0]
            now = self._cost_only(knobs)
            candidates = []
            for size in range(max(lo_size, knobs[size_key] - 2), knobs[size_key] + 2):
                for frac in range(max(MIN_FRAC, knobs[frac_key] - 4), knobs[frac_key] + 3):
                    trial = {**knobs, size_key: min(size, self.bounds[size_key][1] or size), frac_key: frac}
                    c = self._cost_only(trial)
                    if c < now:
                        candidates.append((c, size, frac, trial))
            for _, _, _, trial in sorted(candidates, key=lambda t: t[:3]):
                if self.evaluate(trial)[0]:
                    knobs = trial
                    break
        return knobs

    def _start(self, key: str, start: int) -> int:
        """Where knob ``key`` starts when every fractional-bit knob starts at ``start``
        (table sizes have their own scale)."""
        if key in self.bounds:
            from ._calibrate_recurrent import knob_start

            return knob_start(key, start)
        return start

    def _cost_only(self, knobs: Mapping[str, int]) -> float:
        from .config import configure

        cfg, _ = self.config(knobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return self.cost_fn(configure(self.g, cfg))["objective"]
            except HlsforgeError:
                return math.inf


def _fewest(lo: int, hi: int, meets: Callable[[int], bool]) -> int:
    """The fewest bits in ``[lo, hi]`` for which ``meets`` holds, by bisection (``hi`` is
    known to meet the target; the search assumes more bits never hurt, which rounding does
    not promise — hence the final check with guard bits)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


def bit_cost(q: Graph) -> dict[str, float]:
    """Fallback cost: Σ over multiplies of (input width + weight width), plus Σ activation widths."""
    from .config import raw_constant
    from .fixed import as_fixed_type

    mult = 0
    act = 0
    for node in q.nodes:
        if node.op in _DOT:
            xw = as_fixed_type(q.values[node.inputs[0]].type).width  # type: ignore[arg-type]
            kv = q.values[node.inputs[1]]
            nz = int(np.count_nonzero(raw_constant(kv)))
            mult += nz * (xw + as_fixed_type(kv.type).width)  # type: ignore[arg-type]
        t = q.values[node.outputs[0]].type
        act += as_fixed_type(t).width * max(1, q.values[node.outputs[0]].size)  # type: ignore[arg-type]
    return {"objective": float(mult + act), "bits": float(mult + act)}


def estimate_cost(part: str | None, clock_ns: float) -> tuple[Callable[[Graph], dict[str, float]], str] | None:
    """LUT and DSP from ``hlsforge.estimate`` as fractions of the part (None if unavailable)."""
    try:
        from ..resources import DEFAULT_PART, estimate, get_part
    except ImportError:
        return None
    dev = get_part(part or DEFAULT_PART)
    avail = dev.totals()

    def cost(q: Graph) -> dict[str, float]:
        try:
            e = estimate(q, part=part or DEFAULT_PART, clock_ns=clock_ns)
        except HlsforgeError:
            return bit_cost(q)
        # block RAM counts too: a lookup table beyond the LUT-ROM limit moves there (calibrated
        # recurrent/LayerNorm tables are read once per step and element: many copies)
        bram = e.bram_18k / avail["bram_18k"] if avail.get("bram_18k") else 0.0
        return {"objective": e.lut / avail["lut"] + e.dsp / avail["dsp"] + bram, "lut": float(e.lut),
                "dsp": float(e.dsp), "bram_18k": float(e.bram_18k)}

    return cost, f"hlsforge.estimate on {part or DEFAULT_PART}: LUT/LUTs + DSP/DSPs + BRAM/BRAMs of the part"


def calibrate(
    graph: Graph,
    x: Any,
    target: Any = 0.999,
    *,
    margin: float = DEFAULT_MARGIN,
    part: str | None = None,
    clock_ns: float = 5.0,
    cost: str = "auto",
    guard_bits: int = 1,
    quiet: bool | None = None,
) -> Calibration:
    """Choose per-layer fixed-point types for ``graph`` (a float graph) from data ``x``.

    ``target``: argmax agreement with the float model in (0, 1] (default 0.999), or
    ``{"argmax": 0.999}`` / ``{"max_error": 0.01}``. ``margin``: relative headroom over the
    calibration ranges for integer bits. ``cost``: ``"auto"`` (the resource estimate when
    available, else bits), ``"estimate"`` or ``"bits"``. Returns a :class:`Calibration` whose
    ``config`` goes straight to ``configure`` or ``--config`` (``to_yaml()``).
    """
    from .config import METADATA_KEY

    tgt = _parse_target(target)
    if METADATA_KEY in graph.metadata:
        raise PrecisionError(f"calibrate: model {graph.name!r} is already quantized; pass the float graph")
    if not (isinstance(margin, (int, float)) and margin >= 0):
        raise PrecisionError(f"calibrate: margin must be a non-negative number, got {margin!r}")
    if cost not in ("auto", "estimate", "bits"):
        raise PrecisionError(f"calibrate: cost must be 'auto', 'estimate' or 'bits', got {cost!r}")
    est = estimate_cost(part, clock_ns) if cost != "bits" else None
    if cost == "estimate" and est is None:
        raise PrecisionError("calibrate: cost='estimate' needs hlsforge.resources (the resource estimator)")
    fn, kind = est if est is not None else (bit_cost, "bit count: multiplier input widths + activation widths")
    if isinstance(guard_bits, bool) or not isinstance(guard_bits, int) or guard_bits < 0:
        raise PrecisionError(f"calibrate: guard_bits must be a non-negative integer, got {guard_bits!r}")
    search = _Search(graph, x, tgt, float(margin), fn, quiet, guard_bits)
    knobs, notes, start_cost = search.run()
    cfg, choices = search.config(knobs)
    ok, agreement, max_error, final_cost = search.evaluate(knobs)
    if not ok and not any("not met" in n for n in notes):
        notes.append("the target is not met on the calibration data by the returned configuration")
    from . import _calibrate_recurrent as rec

    by_name = {n.name: n for n in graph.nodes}
    for c in choices:
        if c.reason:
            continue
        if c.name in search.internal:
            c.reason = rec.reason(by_name[c.name], knobs, cfg["layers"][c.name])
            continue
        parts = []
        if f"accum:{c.name}" in knobs:
            extra = knobs[f"accum:{c.name}"]
            parts.append(f"accum frac ≤ result frac {'+' if extra >= 0 else '-'} {abs(extra)}")
        if f"weight:{c.name}" in knobs:
            parts.append(f"weight frac {knobs[f'weight:{c.name}']}")
        if f"result:{c.name}" in knobs:
            parts.append(f"result frac {knobs[f'result:{c.name}']}")
        c.reason = ("fewest " + ", ".join(parts) + " meeting the target") if parts else ""
    notes.extend(default_typed(graph, cfg["layers"], cfg["model"]["default"]))
    if est is not None:
        notes.extend(beyond_part(final_cost, part))
    notes.append(f"integer bits cover the calibration range × {1 + margin:g}; results saturate beyond it")
    clean = {k: v for k, v in final_cost.items() if k != "objective"}
    start = {k: v for k, v in start_cost.items() if k != "objective"}
    return Calibration(cfg, choices, str(tgt), agreement, max_error, clean, kind, start, search.evals, notes, ok,
                       search.expected)
