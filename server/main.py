"""Deployable ASGI entry point of the bienmoc map server.

    uvicorn server.main:app --host 0.0.0.0 --port 8000 --workers 2 --http bienmoc.api.tcp:NoDelay
    gunicorn -c server/gunicorn.conf.py server.main:app

Configuration comes from ``BIENMOC_*`` environment variables (see server/README.md). The
default views are computed in a background thread at start, so the first planner who opens a
map does not wait for them (set BIENMOC_WARM=0 to skip).
"""
import os
import threading

from bienmoc.api import create_app
from bienmoc.api.pages import warm

app = create_app()

if os.environ.get("BIENMOC_WARM", "1") != "0":
    threading.Thread(target=warm, args=(app.state.store,), name="bienmoc-warm",
                     daemon=True).start()
