"""The host package: CLI, environments, agents, experiments, plots and benchmarks."""
