"""Frontends: translate a trained model from its framework into hlsforge's IR.

Each frontend only *translates* (one small converter per source op); every structural rewrite
(BatchNorm folding, bias fusion, layout cleanup) is a shared pass in ``hlsforge.ir.passes``.
Frontends are imported lazily by ``hlsforge.load`` so that no optional framework is imported
unless the model belongs to it.
"""
