"""The host package: CLI, environments, agents (golden models and baselines), experiments, plots, benchmarks."""
