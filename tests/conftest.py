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


@pytest.fixture(scope="session")
def pg_cluster():
    """One private PostgreSQL + PostGIS cluster for the whole session (tests/pgcluster.py)."""
    from pgcluster import cluster

    with cluster() as c:
        yield c


@pytest.fixture
def store_backend():
    """The backend of ``store``/``demo``: "gpkg", or both in modules marked ``both_stores``."""
    return "gpkg"


def pytest_generate_tests(metafunc):
    if "store_backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("postgis_only"):
        metafunc.parametrize("store_backend", ["postgis"])
    elif metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("store_backend", ["gpkg", "postgis"])


def _pg_store(request):
    """A PostGIS store in a fresh schema of the session cluster, dropped afterwards."""
    from bienmoc.storage.postgis import PostGISStore

    cluster = request.getfixturevalue("pg_cluster")
    s = PostGISStore(cluster.url())

    def drop():
        s.close()
        with cluster.connect() as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{s.schema}" CASCADE')
    request.addfinalizer(drop)
    return s


@pytest.fixture
def store(request, tmp_path, layers, store_backend):
    if store_backend == "postgis":
        s = _pg_store(request)
    else:
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
def demo(request, tmp_path, demo_store_path, store_backend):
    """A writable copy of the demo store (in PostGIS too in modules marked both_stores)."""
    if store_backend == "postgis":
        from bienmoc.storage.copy import copy_store

        s = _pg_store(request)
        copy_store(GeoPackageStore(demo_store_path), s)
        return s
    path = tmp_path / "demo.gpkg"
    shutil.copy(demo_store_path, path)
    os.chmod(path, 0o644)
    return GeoPackageStore(path)
