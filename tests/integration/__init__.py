"""Integration tests: servey_faas apps served by a real uvicorn server on 127.0.0.1."""
