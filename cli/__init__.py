"""The `streetwatch` command line."""
