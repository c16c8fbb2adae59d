"""Demo actions served by ``python -m servey_faas`` from the repository root."""
