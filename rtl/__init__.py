"""Amaranth cores: synthesizable, parameterised, each a wiring.Component with a signature.

Imports none of the other memrl subpackages.
"""
