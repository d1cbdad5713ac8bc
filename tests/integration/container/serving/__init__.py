"""Real replicas in the framework images."""
