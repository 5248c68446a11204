//! Deterministic variational methods: naive mean field (the GBF bound / ELBO), TAP, Bethe
//! (loopy BP) and tree-reweighted BP.
