"""Verity's shared kernel: settings, the error tree, stable ids and the ports (protocols)."""
