"""``python -m memrl.host.cli``: the ``memrl`` command."""

from memrl.host.cli import main

main()
