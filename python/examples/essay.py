"""The essay's figures from Python: every method's ln Z/N against β on the 16×16 square torus
(bounds below and above the exact curve), their errors per spin, the magnetisation against
Yang's exact curve, the mean-field graphical solution, and a snapshot of the critical lattice.

    python python/examples/essay.py [--out DIR] [--quick]

With matplotlib installed it writes PNG files into DIR (default logz-out/python-essay); without
it, it prints the numbers behind each figure.
"""

from __future__ import annotations

import argparse
import math
import pathlib
from typing import Any, Dict

import numpy as np

import logz

try:  # matplotlib is optional: the numbers are printed either way
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover - depends on the environment
    plt = None

BETA_C = math.log(1 + math.sqrt(2)) / 2


def yang_magnetization(beta: np.ndarray) -> np.ndarray:
    """Spontaneous magnetisation of the infinite square lattice, (1 − sinh⁻⁴ 2β)^{1/8}."""
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (1 - np.sinh(2 * beta) ** -4) ** 0.125
    return np.where(beta > BETA_C, m, 0.0)


def figure_methods(c: Dict[str, Any], out: pathlib.Path) -> None:
    betas, names = c["betas"], c["methods"]
    print(f"{'beta':>6} " + " ".join(f"{n:>12}" for n in names))
    for b, beta in enumerate(betas):
        print(f"{beta:6.3f} " + " ".join(f"{x:12.6f}" for x in c["ln_z_per_spin"][b]))
    if plt is None:
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for k, name in enumerate(names):
        err = np.nan_to_num(c["std_err"][:, k] / c["n"])
        ax1.errorbar(betas, c["ln_z_per_spin"][:, k], yerr=err, label=f"{name} ({c['kind'][0, k]})",
                     marker=".", capsize=2)
        if not np.isnan(c["error_per_spin"][:, k]).all():
            ax2.plot(betas, c["error_per_spin"][:, k], marker=".", label=name)
    for ax in (ax1, ax2):
        ax.axvline(BETA_C, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("β")
    ax1.set_ylabel("ln Z / N")
    ax2.set_ylabel("(ln Z − ln Z_exact) / N")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=7)
    fig.suptitle(f"{c['n']} spins: bounds, estimates and the exact value")
    fig.tight_layout()
    fig.savefig(out / "ln_z_vs_beta.png", dpi=120)
    plt.close(fig)


def figure_magnetization(c: Dict[str, Any], out: pathlib.Path) -> None:
    betas = c["betas"]
    fine = np.linspace(betas[0], betas[-1], 400)
    if plt is None:
        for k, name in enumerate(c["methods"]):
            print(f"|m| {name:>10}: " + " ".join(f"{x:.3f}" for x in c["abs_magnetization"][:, k]))
        return
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(fine, yang_magnetization(fine), "k-", label="Yang (infinite lattice)")
    for k, name in enumerate(c["methods"]):
        if not np.isnan(c["abs_magnetization"][:, k]).all():
            ax.plot(betas, c["abs_magnetization"][:, k], marker=".", label=name)
    ax.set_xlabel("β")
    ax.set_ylabel("|m|")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "magnetization_vs_beta.png", dpi=120)
    plt.close(fig)


def figure_meanfield(out: pathlib.Path) -> None:
    z, beta = 4, 0.4  # above the mean-field critical point β = 1/z
    roots = logz.meanfield(z, beta=beta)
    print("mean-field roots of m = tanh(β z J m) at β = 0.4, z = 4:", roots)
    if plt is None:
        return
    m = np.linspace(-1.2, 1.2, 400)
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.plot(m, m, "k-", lw=0.8, label="m")
    ax.plot(m, np.tanh(beta * z * m), label="tanh(βzJm)")
    for r in roots:
        ax.plot(r["m"], r["m"], "o" if r["stable"] else "x", color="C3")
    ax.set_xlabel("m")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "meanfield_graphical.png", dpi=120)
    plt.close(fig)


def figure_snapshot(out: pathlib.Path, quick: bool) -> None:
    L = 32 if quick else 128
    s = logz.sample(logz.Model.square(L, beta=BETA_C), algorithm="wolff", sweeps=200,
                    burn_in=200, chains=1, seed=1, save_every=200)
    spins = s["configurations"][0, -1].reshape(L, L)
    obs = s["observables"]["|m|"]
    print(f"snapshot at β_c, {L}×{L}: |m| = {obs['value']:.3f} ± {obs['std_err']:.3f}")
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.imshow(spins, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title("a critical configuration (Wolff)")
    fig.tight_layout()
    fig.savefig(out / "critical_snapshot.png", dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="logz-out/python-essay", type=pathlib.Path)
    p.add_argument("--quick", action="store_true", help="a smaller lattice and fewer β")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    L = 4 if a.quick else 16
    betas = np.linspace(0.1, 1.0, 4 if a.quick else 19)
    methods = ["exact", "mf", "bethe", "trw"] if a.quick else None
    c = logz.compare(logz.Model.square(L), methods, betas, seed=1)
    figure_methods(c, a.out)
    figure_magnetization(c, a.out)
    figure_meanfield(a.out)
    figure_snapshot(a.out, a.quick)
    if plt is not None:
        print(f"wrote the figures into {a.out}")


if __name__ == "__main__":
    main()
