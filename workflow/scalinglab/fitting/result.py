"""`FitResult`: one fit, as `fit()` returns it and `load_fit()` reads it back (docs/fit-json.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..laws import Law


@dataclass
class FitResult:
    law: Law
    x: list  # fitted x column(s), in the law's input order
    y: str
    theta: np.ndarray  # fitted parameters (the law's own coordinates)
    params: dict  # reported name -> value
    intervals: dict  # reported name -> [lo, hi]
    ci: float
    objective: float
    n_points: int
    n_excluded: int
    excluded: dict  # reason -> count
    rms_log_residual: float
    rms_log_residual_of_means: float
    information_criteria: dict  # aic, aicc, bic of a least-squares fit on the size means, with n_eff and method
    backtest: dict
    diagnostics: dict
    derived: dict
    bootstrap: dict  # n, unit, n_units, n_failed, parameters, params (list of reported vectors)
    settings: dict
    data_hash: str
    fit_params: dict = field(default_factory=dict)
    fit_intervals: dict = field(default_factory=dict)
    excluded_runs: dict = field(default_factory=dict)  # reason -> [run ids] (run_id, run_path or row)
    n_filtered: int = 0
    n_input: int = 0
    at_bound: dict = field(default_factory=dict)  # reported name -> {side, bound, fit_parameter}
    identification: dict = field(default_factory=dict)  # hessian_condition, weakly_identified, weakest_direction
    observation_noise: dict = field(default_factory=dict)  # sigma, dof, method (for prediction intervals)
    x_range: dict = field(default_factory=dict)  # x column -> [min, max] of the fitted runs
    status: str = "ok"  # "ok"; an unfittable sweep's record says "unfittable" (persist.unfittable_record)
    law_ref: str | None = None  # 'module:NAME' of a law from outside the catalogue, so load_fit can find it
    envelope: dict = field(default_factory=dict)  # the grid envelope: which value won per (size, budget) cell
    approaches: dict = field(default_factory=dict)  # approach 2 against approach 3 (fitting.approaches)

    @property
    def boot_natural(self) -> np.ndarray:
        """(B, P) bootstrap draws of the reported parameters, NaN rows for failed refits."""
        params = self.bootstrap.get("params")
        if params is None or len(params) == 0:
            return np.empty((0, len(self.law.natural)))
        return np.array([[np.nan if v is None else v for v in row] for row in params], dtype=float)

    def to_dict(self) -> dict:
        from .persist import fit_json

        return fit_json(self)

    def save(self, path):
        from .persist import save_fit

        return save_fit(self, path)
