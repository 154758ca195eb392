"""The web layer: a FastAPI app factory over the library's public functions."""
from bienmoc.api.app import create_app

__all__ = ["create_app"]
