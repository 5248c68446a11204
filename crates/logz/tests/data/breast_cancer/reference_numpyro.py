#!/usr/bin/env python3
"""Independent reference posterior for logz's NUTS tests and `logz bench nuts`: Bayesian logistic
regression on the Wisconsin breast cancer data (wdbc.csv beside this script), fitted with NumPyro's
NUTS (dense mass matrix, target acceptance 0.9) in double precision, a long run: 4 chains x 10 000
draws after 2 000 warm-up iterations each.

The model is the one `logz fit logistic` samples, in its standardised coordinates:
  x~_j = (x_j - mean_j) / sd_j   (population sd, numpy's default),
  z = (intercept, w_1..w_30) ~ N(0, 10^2 I),   y_i ~ Bernoulli(sigmoid(z_0 + x~_i . w)),
with y = benign (1) / malignant (0).  Writes reference.csv: name, mean, sd (pooled over all
draws), mcse of the mean, NumPyro's split R-hat and ESS.

Usage: python3 reference_numpyro.py [draws_per_chain] [seed]   (needs numpy, jax, numpyro)"""
import os, sys, time
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpyro, numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

numpyro.set_host_device_count(1)
here = os.path.dirname(os.path.abspath(__file__))
draws = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20261201
with open(os.path.join(here, "wdbc.csv")) as f:
    header = f.readline().strip().split(",")
raw = np.loadtxt(os.path.join(here, "wdbc.csv"), delimiter=",", skiprows=1)
x, y = raw[:, :-1], raw[:, -1]
x = (x - x.mean(axis=0)) / x.std(axis=0)
X = jnp.asarray(np.hstack([np.ones((len(y), 1)), x]))
Y = jnp.asarray(y)
TAU = 10.0

def model(X, Y):
    z = numpyro.sample("z", dist.Normal(0.0, TAU).expand([X.shape[1]]).to_event(1))
    numpyro.sample("y", dist.Bernoulli(logits=X @ z), obs=Y)

t0 = time.perf_counter()
mcmc = MCMC(NUTS(model, dense_mass=True, target_accept_prob=0.9, max_tree_depth=10),
            num_warmup=2_000, num_samples=draws, num_chains=4, chain_method="sequential",
            progress_bar=False)
mcmc.run(jax.random.PRNGKey(seed), X, Y, extra_fields=("diverging",))
z = np.asarray(mcmc.get_samples(group_by_chain=True)["z"])          # chains x draws x 31
div = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
ess = np.asarray(effective_sample_size(z))
rhat = np.asarray(split_gelman_rubin(z))
flat = z.reshape(-1, z.shape[-1])
mean, sd = flat.mean(axis=0), flat.std(axis=0)
names = ["intercept"] + header[:-1]
with open(os.path.join(here, "reference.csv"), "w") as f:
    f.write("name,mean,sd,mcse,r_hat,ess\n")
    for j, n in enumerate(names):
        f.write(f"{n},{mean[j]:.8g},{sd[j]:.8g},{sd[j] / np.sqrt(ess[j]):.3g},{rhat[j]:.5f},{ess[j]:.0f}\n")
print(f"numpyro {numpyro.__version__}, jax {jax.__version__}: 4 x {draws} draws, {div} divergences, "
      f"max R-hat {rhat.max():.4f}, min ESS {ess.min():.0f}, {time.perf_counter() - t0:.1f} s")
