"""Subcommands of the `infiniscape` CLI, one module each (see infiniscape.cli)."""
