"""The edges: command line (``blueprint``) and HTTP API (FastAPI)."""
