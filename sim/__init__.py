"""Device models (RRAM arrays), the device port, simulator tooling and co-simulation.

Imports at most :mod:`memrl.rtl`.
"""
