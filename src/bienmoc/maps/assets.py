"""Offline web assets of the maps: Leaflet, its plugins and bienmoc's own JS/CSS.

Every file lives in the package (``bienmoc/api/static``, see ``static/vendor/README.md`` for
their sources and licences). A map links them from the map server (``assets=URL_PREFIX``, e.g.
``"../static"``) or embeds their text into the HTML (``assets="inline"``: a notebook, a saved
HTML file, no server needed). Folium's own CDN links (Leaflet from jsdelivr, jQuery, Bootstrap,
Font Awesome, awesome-markers…) are removed from every element of the map: none is needed.
"""
from __future__ import annotations

import base64
import functools
import re
from pathlib import Path

__all__ = ["STATIC_DIR", "BUNDLES", "use_assets", "asset_paths", "asset_version"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "api" / "static"

#: Named groups of files (relative to :data:`STATIC_DIR`), in load order.
BUNDLES: dict[str, dict[str, tuple[str, ...]]] = {
    "leaflet": {"js": ("vendor/leaflet-1.9.4/leaflet.js",),
                "css": ("vendor/leaflet-1.9.4/leaflet.css",)},
    "markercluster": {"js": ("vendor/leaflet.markercluster-1.5.3/leaflet.markercluster.js",),
                      "css": ("vendor/leaflet.markercluster-1.5.3/MarkerCluster.css",
                              "vendor/leaflet.markercluster-1.5.3/MarkerCluster.Default.css")},
    "heat": {"js": ("vendor/leaflet.heat-0.2.0/leaflet-heat.js",), "css": ()},
    "bienmoc": {"js": ("bienmoc/maps.js",), "css": ("bienmoc/maps.css",)},
    "terrain": {"js": ("bienmoc/terrain.js",), "css": ()},
}


def asset_paths(bundles=tuple(BUNDLES)) -> list[Path]:
    """The files of ``bundles`` (for packaging checks and tests)."""
    return [STATIC_DIR / rel for b in bundles for kind in ("css", "js")
            for rel in BUNDLES[b][kind]]


@functools.lru_cache(maxsize=1)
def asset_version() -> str:
    """A token that changes when any asset changes (cache-busting query string)."""
    import hashlib

    h = hashlib.sha256()
    for p in asset_paths():
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


@functools.lru_cache(maxsize=None)
def _text(rel: str) -> str:
    return (STATIC_DIR / rel).read_text(encoding="utf-8")


def _inline_css(rel: str) -> str:
    """CSS text with its relative ``url(images/x.png)`` turned into data: URIs."""
    base = (STATIC_DIR / rel).parent

    def sub(m: re.Match) -> str:
        target = base / m.group(1)
        if not target.is_file():
            return m.group(0)
        data = base64.b64encode(target.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    return re.sub(r"url\((images/[A-Za-z0-9_.-]+\.png)\)", sub, _text(rel))


def _script_safe(text: str, tag: str) -> str:
    # the vendored files contain no "</script" or "</style"; keep it that way for any update
    if re.search(rf"</{tag}", text, re.IGNORECASE):
        raise ValueError(f"asset text contains </{tag}>: cannot be inlined")
    return text


def _strip_cdn_links(element) -> None:
    """Drop folium's default JS/CSS links (CDNs) from ``element`` and all its children."""
    if hasattr(element, "default_js"):
        element.default_js = []
    if hasattr(element, "default_css"):
        element.default_css = []
    for child in list(getattr(element, "_children", {}).values()):
        _strip_cdn_links(child)


def use_assets(m, bundles=("leaflet", "bienmoc"), assets: str = "inline") -> None:
    """Make ``m`` (a folium.Map, fully built) load ``bundles`` from ``assets`` and nothing
    from any CDN. ``assets`` is ``"inline"`` or a URL prefix such as ``"../static"``."""
    import folium

    _strip_cdn_links(m)
    header = m.get_root().header
    order = [b for b in BUNDLES if b in set(bundles) | {"leaflet", "bienmoc"}]
    css, js = [], []
    for b in order:
        for rel in BUNDLES[b]["css"]:
            if assets == "inline":
                css.append(f"<style>{_script_safe(_inline_css(rel), 'style')}</style>")
            else:
                css.append(f'<link rel="stylesheet" href="{assets}/{rel}?v={asset_version()}">')
        for rel in BUNDLES[b]["js"]:
            if assets == "inline":
                js.append(f"<script>{_script_safe(_text(rel), 'script')}</script>")
            else:
                js.append(f'<script src="{assets}/{rel}?v={asset_version()}"></script>')
    header.add_child(folium.Element("\n".join(css + js)), name="bienmoc_assets")
