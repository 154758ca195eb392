"""The web layer: a FastAPI app factory over the library's public functions."""
from .app import create_app

__all__ = ["create_app"]
