"""The service's wiring: app factory, CLI, run modes. Nothing here holds domain logic."""
