"""Unit tests of the serving toolkit (no subprocesses, no images)."""
