"""The host package: CLI, environments, agents, experiments, plots and benchmarks.

Importing it registers the gymnasium environments ``memrl/Maze-v0``,
``memrl/DynamicMaze-v0`` and ``memrl/MarsRover-v0``.
"""

from . import envs as _envs  # noqa: F401  (registers the environments)
