"""logz: partition functions, free energies and their bounds for Ising models.

A thin Python layer over the Rust library ``logz`` (the same code the ``logz`` command line
runs): numpy arrays in and out, every number labelled with what kind of number it is.

Conventions: spins s_i in {-1, +1}; energy E(s) = -sum_(i,j) J_ij s_i s_j - sum_i h_i s_i;
``ln_z`` is the natural log of Z = sum_s exp(-beta E(s)), including beta.

>>> import logz
>>> m = logz.Model.square(4, beta=0.3)
>>> e = logz.solve(m, "exact")
>>> e.kind
'exact'
>>> logz.solve(m, "mf").ln_z <= e.ln_z <= logz.solve(m, "trw").ln_z
True

Long calls release the GIL (other Python threads run meanwhile), stop on Ctrl-C with
``KeyboardInterrupt``, and accept ``progress=callback``: the callback receives a dict
``{"method", "iteration", "objective", "change", "elapsed"}`` about every 50 ms while the
method reports iterations; returning ``False`` stops the run, which then returns its best
answer so far (``termination == "stopped"``). Bad input raises ``ValueError`` with logz's
one-line message; unreadable files raise ``OSError``.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _logz
from ._logz import DEFAULT_BETA, Estimate, Model

__all__ = [
    "DEFAULT_BETA",
    "Estimate",
    "Model",
    "compare",
    "fit",
    "learn",
    "meanfield",
    "method_options",
    "methods",
    "sample",
    "solve",
    "train_van",
]

__version__: str = _logz.__version__

#: A progress callback: called with a dict about the latest iteration; ``False`` stops the run.
ProgressCallback = Callable[[Dict[str, Any]], Optional[bool]]


def methods() -> Dict[str, str]:
    """Every method ``solve`` accepts, with its one-line description (as ``logz methods``)."""
    return {name: what for name, what, _ in _logz.methods_table()}


def method_options(method: str) -> List[str]:
    """The options (keyword arguments of ``solve``) that ``method`` takes, besides ``seed``."""
    for name, _, takes in _logz.methods_table():
        if name == method:
            return list(takes)
    raise ValueError(f"unknown method '{method}'; choose one of: {', '.join(methods())}")


def solve(
    model: Model,
    method: str = "mf",
    *,
    seed: int = 0,
    progress: Optional[ProgressCallback] = None,
    threads: Optional[int] = None,
    **options: Any,
) -> Estimate:
    """Compute ln Z of ``model`` with ``method`` (see ``methods()``).

    ``options`` are the method's settings, named as the CLI's flags without dashes
    (``sweeps``, ``burn_in``, ``rungs``, ``chains``, ``steps``, ``runs``, ``width``, ``depth``,
    ``batch``, ``lr``, ``chi``, ``checkpoint``, ``net``); an option the method does not take is a
    ``ValueError``. ``seed`` seeds stochastic methods (the same seed gives the same answer as
    ``logz solve --seed``). ``threads`` runs the call on its own pool of that many threads
    (default: the shared pool, one thread per core).

    Returns an ``Estimate``: ``ln_z``, ``kind`` ("exact", "lower_bound", "upper_bound",
    "stochastic", "stochastic_lower_bound" or "approximation"), ``std_err``,
    ``magnetization`` and ``edge_correlation`` (numpy arrays) and the diagnostics
    (``iterations``, ``converged``, ``termination``, ``seconds``, ``algorithm``, ``notes``).
    """
    return _logz.solve(model, method, seed, options or None, progress, threads)


#: The β grid ``compare`` uses by default (as ``logz compare``: 0.1 to 1.0 in steps of 0.05).
DEFAULT_BETAS = np.round(np.arange(0.1, 1.0 + 1e-9, 0.05), 10)


def compare(
    model: Model,
    methods: Optional[Sequence[str]] = None,
    betas: Optional[npt.ArrayLike] = None,
    *,
    seed: int = 0,
    progress: Optional[ProgressCallback] = None,
    threads: Optional[int] = None,
    **options: Any,
) -> Dict[str, Any]:
    """Run several methods over a β sweep on one model (as ``logz compare``).

    ``methods`` defaults to every method ``logz compare`` runs; ``betas`` to 0.1, 0.15, …, 1.0.
    Stochastic methods use the smaller per-point budgets of ``logz compare`` unless ``options``
    set them. Every (β, method) pair runs in parallel.

    Returns a dict with ``betas`` (B,), ``methods`` (M names: the methods that ran at every β),
    and arrays of shape (B, M): ``ln_z``, ``ln_z_per_spin``, ``std_err`` (NaN where the kind has
    none), ``error_per_spin`` (against an exact method in the same run, else NaN),
    ``abs_magnetization``, ``seconds``, ``kind`` and ``algorithm`` (strings), ``converged``
    (bool); ``skipped`` maps each method that does not apply to the reason.
    """
    names = list(_logz.compare_defaults() if methods is None else methods)
    grid = DEFAULT_BETAS if betas is None else np.atleast_1d(np.asarray(betas, dtype=np.float64))
    out: Dict[str, Any] = _logz.compare(
        model, names, grid, seed, options or None, progress, threads
    )
    shape = (len(out["betas"]), len(out["methods"]))
    out["kind"] = np.array(out["kind"], dtype=str).reshape(shape)
    out["algorithm"] = np.array(out["algorithm"], dtype=str).reshape(shape)
    out["converged"] = np.array(out["converged"], dtype=bool).reshape(shape)
    return out


def sample(
    model: Model,
    algorithm: str = "metropolis",
    *,
    sweeps: int = 10_000,
    burn_in: int = 1_000,
    chains: int = 4,
    seed: int = 0,
    save_every: Optional[int] = None,
    kernel: str = "auto",
    replicas: int = 16,
    beta_min: float = 0.2,
    cold: bool = False,
    progress: Optional[ProgressCallback] = None,
    threads: Optional[int] = None,
) -> Dict[str, Any]:
    """Run ``chains`` independent Markov chains (as ``logz sample``).

    ``algorithm``: metropolis, metropolis-random, heatbath, wolff, sw or pt (parallel
    tempering with ``replicas`` rungs down to ``beta_min`` × β). ``kernel``: auto (the
    multi-spin lattice kernel where it applies), generic or multispin.

    Returns a dict: ``observables`` (name → value, std_err, tau_int, ess, blocking_err, r_hat;
    names energy (per spin), m, |m|, m^2, m^4, susceptibility, specific_heat, binder),
    per-spin traces ``energy`` and ``magnetization`` of shape (chains, sweeps), ``notes``,
    ``termination``; with ``save_every=K``, ``configurations``: every K-th measured
    configuration of every chain as an int8 array of shape (chains, samples, N), handed to
    numpy without a copy.
    """
    return _logz.sample(
        model,
        algorithm,
        sweeps,
        burn_in,
        chains,
        seed,
        save_every,
        kernel,
        replicas,
        beta_min,
        cold,
        progress,
        threads,
    )


def fit(
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    model: str = "blr",
    method: str = "exact",
    *,
    sigma: Optional[float] = None,
    a0: float = 1.0,
    b0: float = 1.0,
    batch: Optional[int] = None,
    steps: int = 20_000,
    lr: float = 0.05,
    seed: int = 1,
    x_names: Optional[Sequence[str]] = None,
    y_name: str = "y",
    progress: Optional[ProgressCallback] = None,
    alpha: Optional[float] = None,
    particles: Optional[int] = None,
    kernel: Optional[str] = None,
) -> Dict[str, Any]:
    """Posterior inference for a regression model (as ``logz fit``).

    ``X``: (n, p) or (n,) features, ``y``: (n,) responses. ``model``: "blr" (Bayesian linear
    regression; known noise ``sigma``, else σ² ~ Inverse-Gamma(a0, b0)) or "logistic"
    (y in {0, 1}). ``method``: exact, advi, advi-fullrank, bbvi, natural, hmc, renyi,
    renyi-fullrank (order ``alpha``, default 0.5) or svgd (``particles``, default 200;
    ``kernel``: "linear" (default), "rbf" or "rbf+linear").

    Returns a dict: ``names``, posterior ``mean`` and ``sd`` (numpy arrays, raw units),
    ``cov``: the posterior covariance of the regression coefficients (intercept and x; a
    (d, d) array with d = p + 1, raw units; the noise σ of the unknown-noise model is not in
    it), ``elbo`` ± ``elbo_std_err``, the exact ``ln_evidence`` where there is one and
    ``kl_gap``, ``cubo`` ± ``cubo_std_err``, ``khat``, ``psis_ln_evidence``, ``alpha``,
    ``renyi_bound`` ± ``renyi_bound_std_err``, ``kl_q_p``, ``kl_p_q``, ``ksd``, the ELBO
    ``trace``, ``steps``, ``converged``, ``termination``, ``seconds``, ``notes``.
    """
    return _logz.fit(
        X,
        y,
        model,
        method,
        sigma,
        a0,
        b0,
        batch,
        steps,
        lr,
        seed,
        None if x_names is None else list(x_names),
        y_name,
        progress,
        alpha,
        particles,
        kernel,
    )


def learn(
    samples: npt.ArrayLike,
    method: str = "plm",
    *,
    expectations: str = "exact",
    l2: Optional[float] = None,
    l1: Optional[float] = None,
    seed: int = 1,
    steps: Optional[int] = None,
    chains: Optional[int] = None,
    sweeps: Optional[int] = None,
    lr: Optional[float] = None,
    graph: Optional[Model] = None,
    progress: Optional[ProgressCallback] = None,
) -> Tuple[Model, Dict[str, Any]]:
    """Learn an Ising model from samples (inverse Ising, as ``logz learn``).

    ``samples``: (S, N) array of ±1 (e.g. ``sample(..., save_every=1)["configurations"]``
    reshaped to (-1, N)). ``method``: mf, tap, bethe, plm or boltzmann (with
    ``expectations`` exact, pcd or mf). ``graph``: a model whose edges are the only
    couplings to learn (default: every pair). ``steps``, ``chains``, ``sweeps``, ``lr`` and
    ``seed`` set boltzmann learning; ``l1`` (plm only) and ``l2`` the penalties.

    Runs under the same runner as ``logz learn``: the iterative learners (plm, boltzmann)
    report every iteration to ``progress``, and Ctrl-C stops them (``KeyboardInterrupt``).

    Returns the learned ``Model`` (β = 1) and a dict with ``couplings_matrix`` (N, N),
    ``fields`` (N,), ``iterations``, ``converged``, ``termination``, ``residual``, ``notes``
    and ``curve``: the objective at every reported iteration, a (K, 2) array of
    (iteration, objective) rows.
    """
    return _logz.learn(
        samples, method, expectations, l2, l1, seed, steps, chains, sweeps, lr, graph, progress
    )


def train_van(
    model: Model,
    *,
    seed: int = 0,
    save: Optional[Union[str, "os.PathLike[str]"]] = None,
    importance_weighted: bool = False,
    progress: Optional[ProgressCallback] = None,
    threads: Optional[int] = None,
    **options: Any,
) -> Tuple[Estimate, Dict[str, Any]]:
    """Train a variational autoregressive network on ``model`` (as ``logz train-van``).

    ``options`` are VAN's settings, named as the CLI's flags: ``steps``, ``batch``, ``width``,
    ``depth``, ``lr``, and ``net`` (a saved network to continue training). ``save=path``
    writes the trained network as the CLI's checkpoint file; ``logz.solve(model, "van",
    net=path, steps=0)`` (or ``logz solve --method van --net path --steps 0``) evaluates it
    again later, and ``steps=K`` continues training it.

    Returns the ``Estimate`` that ``solve(model, "van", ...)`` gives for the same options and
    seed — ``ln_z`` the ELBO, ``kind`` "stochastic_lower_bound", ``std_err`` its standard
    error (with ``importance_weighted=True``: the importance-weighted ln Z, kind
    "stochastic") — and a dict with the keys of ``logz train-van --json`` (``elbo``,
    ``elbo_std_err``, ``iw_ln_z``, ``iw_std_err``, ``ess``, ``exact_ln_z``, ``seconds``,
    ``out``, ``steps``, ``termination``) plus ``samples``, ``cubo`` ± ``cubo_std_err`` (a
    stochastic upper bound), ``khat``, ``psis_ln_z``, ``width``, ``depth``, ``z2`` and the
    ``trace``: (step, ELBO, seconds) rows every 10 steps. Releases the GIL, stops on Ctrl-C
    (``KeyboardInterrupt``), reports to ``progress`` like ``solve``.
    """
    return _logz.train_van(
        model,
        seed,
        options or None,
        None if save is None else os.fspath(save),
        importance_weighted,
        progress,
        threads,
    )


def meanfield(
    z: float,
    coupling: float = 1.0,
    field: float = 0.0,
    beta: float = DEFAULT_BETA,
) -> List[Dict[str, Union[float, bool]]]:
    """The homogeneous mean-field equation m = tanh(β(h + zJm)) (as ``logz meanfield``).

    Returns every root as a dict ``{"m", "stable", "bound_per_spin"}`` where
    ``bound_per_spin`` is the mean-field lower bound on ln Z / N at that m.
    """
    return [
        {"m": m, "stable": stable, "bound_per_spin": bound}
        for m, stable, bound in _logz.meanfield_roots(z, coupling, field, beta)
    ]
