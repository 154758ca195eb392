import os
import shutil

import pytest

from bienmoc.storage import GeoPackageStore
from bienmoc.testing import make_layers


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never touch the real per-user demo store: point platformdirs at a temp HOME."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.delenv("BIENMOC_STORE", raising=False)
    monkeypatch.delenv("BIENMOC_LANG", raising=False)
    yield


@pytest.fixture
def layers():
    return make_layers()


@pytest.fixture
def store(tmp_path, layers):
    s = GeoPackageStore(tmp_path / "store.gpkg")
    s.write_many(layers)
    return s


@pytest.fixture(scope="session")
def demo_store_path(tmp_path_factory):
    """The demo dataset seeded once into a session-wide GeoPackage (read-only use)."""
    from bienmoc.demo import seed_store

    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    seed_store(GeoPackageStore(path))
    os.chmod(path, 0o444)
    return path


@pytest.fixture
def demo(tmp_path, demo_store_path):
    """A writable copy of the demo store."""
    path = tmp_path / "demo.gpkg"
    shutil.copy(demo_store_path, path)
    os.chmod(path, 0o644)
    return GeoPackageStore(path)
