"""Deployable ASGI entry point: ``uvicorn server.main:app`` (store from $BIENMOC_STORE)."""
from bienmoc.api import create_app

app = create_app()
