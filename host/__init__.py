"""The host package: CLI, environments, agents, experiments, plots and benchmarks.

Importing it registers the gymnasium environments ``memrl/Maze-v0``,
``memrl/DynamicMaze-v0``, ``memrl/MarsRover-v0``, ``memrl/PaperCartPole-v0`` and
``memrl/PaperMountainCar-v0``.
"""

from memrl.host.crossbar import envs as _control_envs  # noqa: F401  (registers the environments)
from memrl.host.navigator import envs as _envs  # noqa: F401
