"""Root conftest: kept thin on purpose; the scenario plugin is registered through the pytest11 entry point."""
