"""``/terrain/hillshade.png`` and ``/terrain/slope.png``: image overlays of a lon/lat box from
the server's DEM (``BIENMOC_DEM``), rendered offline (:mod:`bienmoc.terrain.overlay`) - no
tile server. 404 when the server knows no DEM. Images are cached per query (the DEM does not
change while the server runs) and may be cached by the browser."""
from __future__ import annotations

import threading
from collections import OrderedDict

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from bienmoc.api.settings import Settings

__all__ = ["terrain_router"]

_BBOX = r"^-?\d{1,3}(\.\d+)?,-?\d{1,2}(\.\d+)?,-?\d{1,3}(\.\d+)?,-?\d{1,2}(\.\d+)?$"


def terrain_router(store, settings: Settings) -> APIRouter:
    r = APIRouter(tags=["terrain"])
    cache: OrderedDict = OrderedDict()
    lock = threading.Lock()
    state: dict = {}

    def dem():
        if not settings.dem:
            raise HTTPException(404, "the server has no DEM (set BIENMOC_DEM)")
        with lock:
            if "dem" not in state:
                from bienmoc.terrain.dem import open_dem

                state["dem"] = open_dem(settings.dem)
            return state["dem"]

    def image(kind: str, bbox: str, width: int, height: int) -> Response:
        from bienmoc.errors import InvalidData
        from bienmoc.terrain.overlay import overlay_png

        key = (kind, bbox, width, height)
        with lock:
            body = cache.get(key)
        if body is None:
            d = dem()
            try:
                with lock:   # one rasterio dataset: reads are serialised
                    body = overlay_png(d, [float(v) for v in bbox.split(",")], width, height,
                                       kind)
            except InvalidData as e:
                raise HTTPException(400, str(e)) from None
            with lock:
                cache[key] = body
                while len(cache) > 64:
                    cache.popitem(last=False)
        return Response(body, media_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400"})

    @r.get("/terrain/{kind}.png", response_class=Response,
           responses={200: {"content": {"image/png": {}}}})
    def overlay(kind: str, bbox: str = Query(..., pattern=_BBOX, max_length=100,
                                             description="min lon,min lat,max lon,max lat"),
                width: int = Query(1024, ge=1, le=4096), height: int = Query(1024, ge=1,
                                                                             le=4096)
                ) -> Response:
        """Hillshade (as gdaldem) or slope classes (<10, 10-20, 20-30, 30-40, >=40 deg) of the
        box, ``width`` x ``height`` pixels on a Web Mercator grid, transparent without data."""
        if kind not in ("hillshade", "slope"):
            raise HTTPException(404, f"no terrain image {kind!r}: hillshade or slope")
        return image(kind, bbox, width, height)

    return r
