"""Server settings, read from ``BIENMOC_*`` environment variables when the app is created."""
from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Configuration of the web app (never read at import time)."""

    model_config = SettingsConfigDict(env_prefix="BIENMOC_", extra="ignore")

    store: str | None = Field(None, description="Store path/URL (default: the demo store).")
    #: URL template of an optional base tile layer, e.g. a local tile server
    #: "http://tiles.local/{z}/{x}/{y}.png"; empty = no tiles (vector base map only).
    tiles_url: str = Field("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    tiles_attribution: str = Field("© OpenStreetMap contributors")
    #: Bearer token that enables writes (POST/PATCH); unset = writes answer 403.
    api_token: str | None = Field(None)
    #: Largest accepted request body for writes, in bytes.
    max_body_bytes: int = Field(64 * 1024)
    #: Written incidents must lie within this distance (m) of the border line.
    write_max_distance_m: float = Field(20_000.0)
    #: Other thresholds of the entry rules (:class:`bienmoc.records.RuleSettings` fields), as
    #: JSON, e.g. ``BIENMOC_WRITE_RULES='{"displacement_m": 50, "gate_max_distance_m": 3000}'``.
    write_rules: dict[str, Any] = Field(default_factory=dict)
    #: PATCH must carry ``If-Match`` (the item's ETag): without it the answer is 428
    #: Precondition Required. Off by default: a PATCH without If-Match changes the record as
    #: it stands (last writer wins), as before ETags existed.
    require_if_match: bool = Field(False)
    #: The group writer validates a batch before taking the store's write lock (PostGIS:
    #: the lock is held for the inserts and the commit only, so the workers' rule checks run
    #: at the same time; a reference layer changed meanwhile is re-checked under the lock).
    #: Measured with 8 writers on 2 cores (benchmarks/README.md): ~25 % more writes/s than
    #: validating under the lock. See :class:`bienmoc.storage.groupcommit.GroupWriter`.
    write_lazy_lock: bool = Field(True)
    #: Milliseconds the group writer waits after a group's first write, when the group before
    #: had several, for the writes being received to join it (they share the batch's fixed
    #: cost; a lone writer is not delayed). 0 = no wait.
    write_gather_ms: float = Field(1.0, ge=0, le=50)
    #: DEM for the terrain overlays and map layers (any GDAL raster/VRT); unset = none.
    dem: str | None = Field(None)
    #: Default language of pages: vi or en.
    lang: str = Field("vi", pattern="^(vi|en)$")
