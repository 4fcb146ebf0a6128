"""The composition root: the CLI and the service wiring, the one place that imports every stage."""
