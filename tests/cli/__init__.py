"""Tests of the command line: python -m servey_faas / servey-faas."""
