"""Type stubs of the compiled core ``logz._logz`` (checked against the module by
``python -m mypy.stubtest logz._logz`` in the tests). The documented public API is ``logz``."""

from typing import Any, Dict, List, Optional, Tuple, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "Model",
    "Estimate",
    "solve",
    "methods_table",
    "compare_defaults",
    "compare",
    "sample",
    "fit",
    "learn",
    "meanfield_roots",
    "train_van",
    "DEFAULT_BETA",
    "__version__",
]

DEFAULT_BETA: float
__version__: str

@final
class Model:
    """An Ising model: N spins, edges with couplings J, fields h and the inverse temperature β.

    ``Model(n, edges, couplings, fields=None, beta=1.0)``: ``edges`` an integer array of shape
    (E, 2) of spin indices in 0..n, ``couplings`` (E,), ``fields`` (n,) (default 0). Duplicate
    edges are merged by adding their couplings; self-loops, out-of-range indices, NaN or
    infinite numbers and β < 0 raise ``ValueError``."""

    def __new__(
        cls,
        n: int,
        edges: npt.ArrayLike,
        couplings: npt.ArrayLike,
        fields: Optional[npt.ArrayLike] = None,
        beta: float = 1.0,
    ) -> Model: ...
    @staticmethod
    def from_spec(
        spec: str,
        coupling: float = 1.0,
        field: float = 0.0,
        beta: float = ...,
        seed: int = 0,
    ) -> Model:
        """A built-in model from the CLI's spec language: ``square:16x8:open``, ``chain:100``,
        ``triangular:8``, ``cubic:4``, ``complete:64``, ``sk:64``, ``er:100:0.05:gauss``."""
    @staticmethod
    def square(
        L: int,
        coupling: float = 1.0,
        field: float = 0.0,
        beta: float = ...,
        periodic: bool = True,
        W: Optional[int] = None,
    ) -> Model:
        """An L×W square lattice (W = L by default; ``Model.square(L, W=...)`` for a
        rectangle); a torus unless ``periodic=False``."""
    @staticmethod
    def chain(
        N: int,
        coupling: float = 1.0,
        field: float = 0.0,
        beta: float = ...,
        periodic: bool = True,
    ) -> Model:
        """A chain of N spins; a ring unless ``periodic=False``."""
    @staticmethod
    def triangular(
        L: int,
        coupling: float = 1.0,
        field: float = 0.0,
        beta: float = ...,
        periodic: bool = True,
    ) -> Model:
        """An L×L triangular lattice; a torus unless ``periodic=False``."""
    @staticmethod
    def cubic(L: int, coupling: float = 1.0, field: float = 0.0, beta: float = ...) -> Model:
        """An L×L×L simple cubic torus."""
    @staticmethod
    def complete(N: int, coupling: float = 1.0, field: float = 0.0, beta: float = ...) -> Model:
        """The complete graph (Curie–Weiss): coupling/N on every pair."""
    @staticmethod
    def sk(
        N: int,
        coupling: float = 1.0,
        field: float = 0.0,
        beta: float = ...,
        seed: int = 0,
    ) -> Model:
        """Sherrington–Kirkpatrick: J_ij ~ N(0, coupling²/N) on the complete graph, seeded."""
    @staticmethod
    def er(
        N: int,
        q: float,
        couplings: str = "constant",
        coupling: float = 1.0,
        field: float = 0.0,
        beta: float = ...,
        seed: int = 0,
    ) -> Model:
        """Erdős–Rényi G(N, q) with constant, Gaussian ("gauss") or ±J ("pm") couplings."""
    @staticmethod
    def from_file(
        path: str, beta: Optional[float] = None, evid: Optional[str] = None
    ) -> Model:
        """A model from a .uai or .json file; ``beta`` rescales UAI tables; ``evid`` an
        evidence file (default: ``path + ".evid"`` when present)."""
    def save(self, path: str) -> None:
        """Write the model as .uai or .json (by the file name's extension)."""
    def with_beta(self, beta: float) -> Model:
        """The same model at another inverse temperature."""
    @property
    def n(self) -> int:
        """Number of spins N."""
    @property
    def num_edges(self) -> int:
        """Number of edges E."""
    @property
    def beta(self) -> float:
        """Inverse temperature β."""
    @property
    def edges(self) -> npt.NDArray[np.int64]:
        """The edges (E, 2), each with i < j."""
    @property
    def couplings(self) -> npt.NDArray[np.float64]:
        """The couplings J (E,)."""
    @property
    def fields(self) -> npt.NDArray[np.float64]:
        """The fields h (N,)."""
    def energy(self, s: npt.ArrayLike) -> float:
        """E(s) of a configuration of N spins ±1."""

@final
class Estimate:
    """What one solver returned: ln Z, what kind of number it is, marginals and diagnostics."""

    @property
    def method(self) -> str: ...
    @property
    def ln_z(self) -> float: ...
    @property
    def log10_z(self) -> float: ...
    @property
    def kind(self) -> str:
        """exact, lower_bound, upper_bound, stochastic, stochastic_lower_bound or
        approximation."""
    @property
    def std_err(self) -> Optional[float]:
        """One standard error (stochastic kinds; inf when it could not be estimated)."""
    @property
    def n(self) -> int: ...
    @property
    def beta(self) -> float: ...
    @property
    def free_energy_per_spin(self) -> Optional[float]: ...
    @property
    def magnetization(self) -> npt.NDArray[np.float64]:
        """⟨s_i⟩ for every spin (empty if the method gives none)."""
    @property
    def mean_magnetization(self) -> Optional[float]: ...
    @property
    def edge_correlation(self) -> Optional[npt.NDArray[np.float64]]:
        """⟨s_i s_j⟩ for every edge, in the model's edge order."""
    @property
    def abs_magnetization(self) -> Optional[float]: ...
    @property
    def energy(self) -> Optional[float]: ...
    @property
    def iterations(self) -> int: ...
    @property
    def converged(self) -> bool: ...
    @property
    def termination(self) -> str:
        """converged, completed, max_iterations, timeout, diverged or stopped."""
    @property
    def seconds(self) -> float: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def notes(self) -> List[str]: ...
    def to_dict(self) -> Dict[str, Any]:
        """The keys and values of ``logz solve --json`` (``std_err`` inf where the JSON says
        "inf")."""

def solve(
    model: Model,
    method: str = "mf",
    seed: int = ...,
    options: Optional[Dict[str, Any]] = None,
    progress: Optional[Any] = None,
    threads: Optional[int] = None,
) -> Estimate: ...
def methods_table() -> List[Tuple[str, str, List[str]]]: ...
def compare_defaults() -> List[str]: ...
def compare(
    model: Model,
    methods: List[str],
    betas: npt.ArrayLike,
    seed: int = ...,
    options: Optional[Dict[str, Any]] = None,
    progress: Optional[Any] = None,
    threads: Optional[int] = None,
) -> Dict[str, Any]: ...
def sample(
    model: Model,
    algorithm: str = "metropolis",
    sweeps: int = ...,
    burn_in: int = ...,
    chains: int = ...,
    seed: int = ...,
    save_every: Optional[int] = None,
    kernel: str = "auto",
    replicas: int = ...,
    beta_min: float = 0.2,
    cold: bool = False,
    progress: Optional[Any] = None,
    threads: Optional[int] = None,
) -> Dict[str, Any]: ...
def fit(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    model: str = "blr",
    method: str = "exact",
    sigma: Optional[float] = None,
    a0: float = 1.0,
    b0: float = 1.0,
    batch: Optional[int] = None,
    steps: int = ...,
    lr: float = 0.05,
    seed: int = ...,
    x_names: Optional[List[str]] = None,
    y_name: str = "y",
    progress: Optional[Any] = None,
    alpha: Optional[float] = None,
    particles: Optional[int] = None,
    kernel: Optional[str] = None,
) -> Dict[str, Any]: ...
def learn(
    samples: npt.ArrayLike,
    method: str = "plm",
    expectations: str = "exact",
    l2: Optional[float] = None,
    l1: Optional[float] = None,
    seed: int = ...,
    steps: Optional[int] = None,
    chains: Optional[int] = None,
    sweeps: Optional[int] = None,
    lr: Optional[float] = None,
    graph: Optional[Model] = None,
    progress: Optional[Any] = None,
) -> Tuple[Model, Dict[str, Any]]: ...
def meanfield_roots(
    z: float, coupling: float = 1.0, field: float = 0.0, beta: float = ...
) -> List[Tuple[float, bool, float]]: ...
def train_van(
    model: Model,
    seed: int = ...,
    options: Optional[Dict[str, Any]] = None,
    save: Optional[str] = None,
    importance_weighted: bool = False,
    progress: Optional[Any] = None,
    threads: Optional[int] = None,
) -> Tuple[Estimate, Dict[str, Any]]: ...
