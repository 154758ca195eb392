"""``bienmoc serve``: the FastAPI map server."""
from __future__ import annotations

import click

from bienmoc.cli.main import _store, _t


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--store", "serve_store", default=None, metavar="PATH|URL",
              help="Store to serve (same as the global --store).")
@click.pass_context
def serve(ctx, host, port, serve_store):
    """Serve the map server (FastAPI) on HOST:PORT."""
    import uvicorn

    from bienmoc.api import create_app

    if serve_store:
        ctx.obj["store_uri"] = serve_store
    app = create_app(store=_store(ctx))
    click.echo(_t(ctx, "serving", host=host, port=port), err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")
