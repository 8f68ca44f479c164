"""L-BFGS, a limited-memory quasi-Newton method, with an optional strong-Wolfe line search."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import numpy as np

from . import _load
from ._load import COUNT, FLAT, FLAT_LIST, NUMBER, NUMBER_LIST
from .optimizer import Optimizer, _check_lr, _check_real, _state_tensor

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    r"""The minimiser of the cubic through (x1, f1, f'=g1) and (x2, f2, f'=g2), clipped to bounds.

    With d1 = g1 + g2 − 3 (f1 − f2)/(x1 − x2) and d2 = √(d1² − g1 g2), for x1 ≤ x2 the minimum is
    at x2 − (x2 − x1)(g2 + d2 − d1)/(g2 − g1 + 2 d2); when d1² < g1 g2 the cubic has no minimum
    and the middle of the bounds is returned (minFunc's ``polyinterp``).
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(
    obj_func: Callable,
    x,
    t: float,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
):
    r"""A line search along ``d`` for a step t meeting the strong Wolfe conditions (PyTorch's port
    of minFunc / torch7 ``lswolfe``).

    With φ(t) = f(x + t d), the conditions are sufficient decrease φ(t) ≤ φ(0) + c1 t φ'(0) and
    curvature |φ'(t)| ≤ c2 |φ'(0)|. A bracketing phase grows t (cubic extrapolation within
    [t + 0.01 (t − t_prev), 10 t]) until an interval holds a point that meets them; a zoom phase
    then shrinks the interval by safeguarded cubic interpolation. ``obj_func(x, t, d)`` returns
    (φ(t), ∇f(x + t d)). Returns (f_new, g_new, t, number of evaluations).
    """
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    t_prev: float
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    # the bracket of step sizes with their values, gradients and directional derivatives (set when found)
    bracket: list[float] = []
    bracket_f: list[float] = []
    bracket_g: list[np.ndarray] = []
    bracket_gtd: list[float] = []
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point meets the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # a trial point too close to an end of the bracket makes little progress: after two such
        # tries (or one outside the bracket) move it to 10% of the bracket's width from that end
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # no sufficient decrease, or not lower than the low end: t becomes the high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high end becomes the new low end
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    r"""L-BFGS, PyTorch's ``torch.optim.LBFGS`` (after minFunc): ``step(closure)`` runs up to
    ``max_iter`` quasi-Newton iterations, each calling ``closure`` (which must zero the gradients,
    compute the loss, call ``backward()`` and return the loss) once, or several times with the
    line search.

    The algorithm, on the flattened parameters x and gradient g::

        for k = 1, 2, ... (at most max_iter):
            if k = 1 (first iteration ever):  d ← −g,  H_0 ← 1
            else:
                y ← g − g_prev,  s ← t d                       (curvature pair)
                if yᵀs > 1e-10: store (s, y), ρ = 1/(yᵀs) (dropping the oldest beyond
                                history_size), H_0 ← yᵀs / yᵀy
                d ← −H g by the two-loop recursion:
                    q ← −g;  for i newest→oldest: α_i ← ρ_i s_iᵀq,  q ← q − α_i y_i
                    r ← H_0 q;  for i oldest→newest: β ← ρ_i y_iᵀr,  r ← r + (α_i − β) s_i
                    d ← r
            t ← lr · min(1, 1/‖g‖₁) on the very first iteration, else lr
            if gᵀd > −tolerance_change: stop (not a descent direction)
            line_search_fn = None:          x ← x + t d (then re-evaluate f, g)
            line_search_fn = 'strong_wolfe': t ← strong_wolfe(...), x ← x + t d
            stop when max_iter or max_eval is reached, when max|g| ≤ tolerance_grad, when
            max|t d| ≤ tolerance_change or when |f − f_prev| < tolerance_change.

    Args: lr (1), max_iter (20), max_eval (max_iter · 5 // 4), tolerance_grad (1e-7),
    tolerance_change (1e-9), history_size (100), line_search_fn (None or 'strong_wolfe'), project
    (None, or a projection, see :class:`Optimizer`).

    Only one parameter group is supported (torch's restriction). The state (history, direction,
    counts) is kept under ``state[first parameter]``: the counts ``func_evals`` and ``n_iter``,
    and once an iteration has run, the direction ``d``, step ``t``, the curvature pairs
    ``old_dirs`` (y) and ``old_stps`` (s) with ``ro`` (1/yᵀs), ``H_diag``, ``prev_flat_grad`` and
    ``prev_loss``. With a ``project`` option the projection is applied once, at the end of
    ``step()``: the iterations inside one step (and the line search) are unconstrained.
    """

    _state_kinds: ClassVar[dict[str, str] | None] = {
        "func_evals": COUNT,
        "n_iter": COUNT,
        "d": FLAT,
        "t": NUMBER,
        "old_dirs": FLAT_LIST,
        "old_stps": FLAT_LIST,
        "ro": NUMBER_LIST,
        "H_diag": NUMBER,
        "prev_flat_grad": FLAT,
        "prev_loss": NUMBER,
    }
    _required_state: ClassVar[frozenset[str]] = frozenset({"func_evals", "n_iter"})
    #: torch's LBFGS also keeps its scratch list of the two-loop recursion's α's, recomputed at every
    #: iteration
    _torch_only_state = frozenset({"al"})
    #: what the iterations after the first one continue from: saved together, after an iteration
    _history_state = ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
        *,
        project: Callable | None = None,
    ) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
            project=project,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): pass one group")
        self._params = self.param_groups[0]["params"]

    def _validate_group(self, group):
        _check_lr("LBFGS", group)
        for name in ("max_iter", "max_eval", "history_size"):
            value = group[name]
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"LBFGS: invalid {name}={value!r}; {name} must be a positive integer")
        for name in ("tolerance_grad", "tolerance_change"):
            _check_real("LBFGS", group, name)
            if not 0.0 <= group[name]:
                raise ValueError(f"LBFGS: invalid {name}={group[name]!r}; {name} must be >= 0")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: invalid line_search_fn={group['line_search_fn']!r}; use None or 'strong_wolfe'")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Refused once there is a group: L-BFGS keeps one group (torch's rule)."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): it has one group")
        super().add_param_group(param_group)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state made by ``state_dict()`` (see :meth:`Optimizer.load_state_dict`)."""
        super().load_state_dict(state_dict)
        self._params = self.param_groups[0]["params"]

    def _load_param_state(self, saved, param, group, where):
        """The loaded state, checked also as a whole: it belongs to the first parameter, the history
        entries are all there once an iteration has run, and the three history lists (one pair
        and one ρ per stored update) are equally long and no longer than ``history_size``."""
        if param is not group["params"][0]:
            raise ValueError(
                f"{where}: LBFGS keeps its state under the first parameter of its group, "
                f"param_groups[0]['params'][0]; another parameter has none"
            )
        loaded = super()._load_param_state(saved, param, group, where)
        history = [name for name in self._history_state if name in loaded]
        partial = 0 < len(history) < len(self._history_state)
        if partial or (loaded.get("n_iter", 0) > 0 and not history):
            missing = [name for name in self._history_state if name not in loaded]
            raise ValueError(
                f"{where}: after n_iter={loaded.get('n_iter', 0)} iterations the state should hold "
                f"{list(self._history_state)} to continue from, but it lacks {missing}"
            )
        if history:
            lengths = {name: len(loaded[name]) for name in ("old_dirs", "old_stps", "ro")}
            if len(set(lengths.values())) != 1:
                raise ValueError(
                    f"{where}: the history lists old_dirs, old_stps and ro should be equally long "
                    f"(one entry per stored update), got lengths {lengths}"
                )
            if lengths["ro"] > group["history_size"]:
                raise ValueError(
                    f"{where}: the history holds {lengths['ro']} updates, more than "
                    f"history_size={group['history_size']}"
                )
        return loaded

    def _load_entry(self, kind, value, where, param, group):
        params = group["params"]
        size = sum(p.data.size for p in params)
        dtype = np.result_type(*(p.data.dtype for p in params))  # (the flat gradient's dtype)
        if kind == FLAT:
            return _load.load_flat(value, where, size, dtype)
        if kind == FLAT_LIST:
            return _load.load_list(value, where, lambda item, w: _load.load_flat(item, w, size, dtype))
        if kind == NUMBER_LIST:
            return _load.load_list(value, where, _load.load_number)
        return super()._load_entry(kind, value, where, param, group)

    # -- flat views of the parameters ------------------------------------------------------------

    def _gather_flat_grad(self) -> np.ndarray:
        return np.concatenate(
            [np.zeros(p.data.size, p.data.dtype) if p.grad is None else p.grad.data.ravel() for p in self._params]
        )

    def _add_grad(self, step_size, update: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += step_size * update[offset : offset + n].reshape(p.data.shape)
            offset += n

    def _clone_param(self):
        return [p.data.copy() for p in self._params]

    def _set_param(self, params_data) -> None:
        for p, data in zip(self._params, params_data):
            np.copyto(p.data, data)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    def step(self, closure: Callable[[], object] | None = None) -> Any:
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss of the first evaluation."""
        if closure is None:
            raise RuntimeError(
                "LBFGS.step needs a closure that zeroes the gradients, computes the loss, "
                "calls backward() and returns the loss"
            )
        group = self.param_groups[0]
        lr = group["lr"]
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]

        def evaluate():
            return self._evaluate(closure)

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            self._finish_step(group)
            return orig_loss

        d = _array_or_none(state.get("d"))
        t = state.get("t")
        old_dirs = [v.data for v in state.get("old_dirs", [])]
        old_stps = [v.data for v in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        H_diag = state.get("H_diag")
        prev_flat_grad = _array_or_none(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                num_old = len(old_dirs)
                al = [0.0] * num_old
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)

                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
                )
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    # in a stochastic setting a re-evaluation after the last iteration is wasted
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = _state_tensor(d)
        state["t"] = float(t)
        state["old_dirs"] = [_state_tensor(v) for v in old_dirs]
        state["old_stps"] = [_state_tensor(v) for v in old_stps]
        state["ro"] = [float(v) for v in ro]
        state["H_diag"] = float(H_diag)
        state["prev_flat_grad"] = _state_tensor(prev_flat_grad)
        state["prev_loss"] = float(prev_loss)
        self._finish_step(group)
        return orig_loss


def _array_or_none(value):
    return None if value is None else value.data
