"""The `Law` type: what a scaling law declares so that the fitting engine can fit, bootstrap and predict it.

Every law is fitted on log residuals, ``log f(x; theta) - log y``, in its own *fitted* parametrisation ``theta``
(Hoffmann's form for laws with an irreducible term: E = exp(e), A = exp(a), evaluated as a log-sum-exp). A law gives:

* ``log_predict(theta, X) -> (S, n)``: log f for ``S`` parameter vectors (``theta`` has shape ``(S, P)``) at ``n``
  points (``X`` has shape ``(k, n)``, one row per input);
* ``log_grad(theta, X) -> (log f (S, n), J (S, n, P))``: the same with the analytic Jacobian (optional: central
  differences otherwise);
* ``starts(X, logy) -> (K, P)``: starting points (a fixed grid, or placed from the data's scale);
* ``bounds``: a box on the fitted parameters, wide enough that real data never sit on it;
* ``reported``: reported name -> fitted name; ``log_params``: the fitted names that are logs of the reported value.

Optional: ``derived`` (closed-form quantities of the reported parameters), ``compute_optimal`` (two-input laws
L(N, D): the N minimising the loss at compute C = 6ND, in closed form), fused objectives for speed.
Keep this module free of heavy imports (numpy only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

INF = float("inf")
UNBOUNDED = (-INF, INF)


@dataclass(frozen=True, eq=False)
class Law:
    name: str
    formula: str
    inputs: tuple[str, ...]  # names of the x variables, in the order the law expects them
    params: tuple[str, ...]  # fitted parameter names, in the order of theta's columns
    log_predict: Callable
    starts: Callable  # (X, logy) -> (K, P) fitted-parameter starting points
    log_grad: Callable | None = None
    bounds: tuple[tuple[float, float], ...] = ()  # per fitted parameter; () means unbounded
    reported: dict[str, str] = field(default_factory=dict)  # reported name -> fitted name; {} = the fitted names
    log_params: tuple[str, ...] = ()  # fitted parameters that are the log of the reported one (E = exp(e))
    irreducible: bool = False  # has an irreducible term, fitted in log-sum-exp form
    log_inputs: tuple[bool, ...] = ()  # whether each input goes through a log (must be > 0); () = all of them
    scale_inputs: bool = False  # fit on x / scale; ``unscale(theta, scales)`` maps back
    unscale: Callable | None = None
    derived: Callable | None = None  # (reported dict of arrays) -> dict of arrays
    compute_optimal: Callable | None = None  # (reported dict of arrays, C array) -> N_opt (two-input laws)
    # Optional fused summed-Huber objective and gradient, (theta, X, logy, W or None, delta) -> (f (S,), g (S, P)),
    # and objective, gradient and Hessian, (..., curvature) -> (f, g, H (S, P, P)); they must agree with log_grad
    # (tests check). The optimiser uses them where present, for speed.
    fast_objective: Callable | None = None
    fast_hessian: Callable | None = None
    fast_inputs: Callable | None = None  # X -> what the two fused kernels take in place of X, once per objective
    description: str = ""
    reference: str = ""

    def __post_init__(self):
        P = len(self.params)
        if self.bounds and len(self.bounds) != P:
            raise ValueError(f"law {self.name!r}: {len(self.bounds)} bounds for {P} parameters")
        unknown = (set(self.reported.values()) | set(self.log_params)) - set(self.params)
        if unknown:
            raise ValueError(f"law {self.name!r}: unknown fitted parameter(s) {sorted(unknown)}")
        if self.reported and sorted(self.reported.values()) != sorted(self.params):
            raise ValueError(f"law {self.name!r}: `reported` must name every fitted parameter exactly once")
        if self.log_inputs and len(self.log_inputs) != len(self.inputs):
            raise ValueError(f"law {self.name!r}: log_inputs needs one flag per input")

    # ---- parametrisations --------------------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        return len(self.params)

    @property
    def natural(self) -> tuple[str, ...]:
        """Reported parameter names, in the order of the fit JSON's `parameters`."""
        return tuple(self.reported) if self.reported else self.params

    @property
    def box(self) -> tuple[tuple[float, float], ...]:
        return self.bounds or (UNBOUNDED,) * self.n_params

    @property
    def input_is_logged(self) -> tuple[bool, ...]:
        return self.log_inputs or (True,) * len(self.inputs)

    def reported_name(self, fitted: str) -> str:
        """The reported name of a fitted parameter (E for e)."""
        return next((r for r, f in self.reported.items() if f == fitted), fitted)

    def _columns(self):
        """For each reported parameter: (index of its fitted parameter, whether it is exp'ed)."""
        fitted = [self.reported[n] for n in self.natural] if self.reported else list(self.params)
        return [(self.params.index(f), f in self.log_params) for f in fitted]

    def to_natural(self, theta) -> np.ndarray:
        """Fitted parameters (..., P) -> reported parameters (..., P)."""
        theta = np.asarray(theta, dtype=float)
        with np.errstate(over="ignore"):
            return np.stack([np.exp(theta[..., i]) if log else theta[..., i] for i, log in self._columns()], -1)

    def from_natural(self, natural) -> np.ndarray:
        """Reported parameters (..., P) -> fitted parameters (..., P)."""
        natural = np.asarray(natural, dtype=float)
        out = np.empty_like(natural)
        with np.errstate(divide="ignore", invalid="ignore"):
            for j, (i, log) in enumerate(self._columns()):
                out[..., i] = np.log(natural[..., j]) if log else natural[..., j]
        return out

    # ---- evaluation --------------------------------------------------------------------------------------------
    def predict(self, theta, X) -> np.ndarray:
        """Predictions in natural units for fitted parameters theta ((P,) or (S, P)) at X ((k, n)): (S, n)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        with np.errstate(all="ignore"):
            return np.exp(self.log_predict(theta, np.asarray(X, dtype=float)))

    def numeric_grad(self, theta, X, eps=1e-6):
        """Central finite differences of log_predict (the fallback, and the tests' check of log_grad)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        f = self.log_predict(theta, X)
        J = np.empty(f.shape + (theta.shape[1],))
        for j in range(theta.shape[1]):
            h = eps * np.maximum(1.0, np.abs(theta[:, j]))
            tp, tm = theta.copy(), theta.copy()
            tp[:, j] += h
            tm[:, j] -= h
            J[:, :, j] = (self.log_predict(tp, X) - self.log_predict(tm, X)) / (2 * h[:, None])
        return f, J

    def value_and_jacobian(self, theta, X):
        if self.log_grad is not None:
            return self.log_grad(theta, X)
        return self.numeric_grad(theta, X)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "formula": self.formula,
            "inputs": list(self.inputs),
            "parameters": list(self.natural),
            "fit_parameters": list(self.params),
            "bounds": {n: [b if np.isfinite(b) else None for b in box] for n, box in zip(self.params, self.box)},
            "irreducible": self.irreducible,
            "compute_optimal": self.compute_optimal is not None,
            "description": self.description,
            "reference": self.reference,
        }


# ---- helpers shared by the catalogue ---------------------------------------------------------------------------
def product_grid(*axes) -> np.ndarray:
    """Every combination of the axes' values, one row each, in itertools.product's order (vectorised: the
    Chinchilla grid is built when the package is imported, by every snakemake parse)."""
    mesh = np.meshgrid(*[np.asarray(axis, dtype=float) for axis in axes], indexing="ij")
    return np.stack(mesh, axis=-1).reshape(-1, len(axes))


def lse(*terms):
    """Stable log(sum(exp(terms))) and the softmax weights, all broadcast to one shape."""
    terms = np.broadcast_arrays(*terms)
    m = np.maximum.reduce(terms)
    m = np.where(np.isfinite(m), m, 0.0)
    exps = [np.exp(t - m) for t in terms]
    total = sum(exps)
    out = m + np.log(total)
    weights = [e / total for e in exps]
    return out, weights


def ols(design, target):
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return coef
