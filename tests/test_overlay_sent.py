"""A site check's overlay sent to PostGIS without waiting (issue 14): the capacity is read
while the server works, and the report is exactly the one the ordinary, blocking
statement gives; a catalogue changed meanwhile, a statement the server refuses, no libpq
to send with and a failure before the answer are each handled as before."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely

from blueprint.analysis import vetting
from blueprint.analysis.site import Site, site_from_geometries
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.engine import pg_send
from blueprint.layers.engine.base import Backend
from blueprint.layers.engine.postgis import PostgisBackend, overlay_current_postgis
from blueprint.layers.repository import list_layers, remove_layer
from blueprint.layers.store import Store
from tests.conftest import SAMPLE

pytestmark = pytest.mark.parametrize("engine_name", ["postgis"], indirect=True)


@pytest.fixture
def city(store: Store) -> Store:
    from blueprint.analysis.sample import load_sample

    load_sample(SAMPLE, store=store, actor="test")
    return store


def _sites(store: Store) -> list[Site]:
    """Boxes and discs over the city's extent (most overlap some feature)."""
    x0, y0, x1, y1 = np.array([x.bbox for x in list_layers(store=store)
                               if not x.is_raster]).T
    sites = []
    for x in np.linspace(x0.min(), x1.max(), 5)[1:-1]:
        for y in np.linspace(y0.min(), y1.max(), 5)[1:-1]:
            for geom in (shapely.box(x - 0.02, y - 0.015, x + 0.03, y + 0.02),
                         shapely.Point(x + 0.01, y - 0.01).buffer(0.012)):
                sites.append(site_from_geometries([geom], name="地块", source="test"))
    return sites


def _reports(store: Store, sites: list[Site]) -> list[dict[str, Any]]:
    return [vet_site(VetRequest(site=s, emissions={"SO2": 5.0}), store=store).to_json()
            for s in sites]


def _ordinary(monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocking path: overlay (and catalogue) first, then the capacity."""
    monkeypatch.setattr(PostgisBackend, "start_overlay_current",
                        Backend.start_overlay_current)


def _count_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    real = pg_send.send_prepared

    def spy(dbapi: Any, name: str, params: Any) -> pg_send.Sent:
        sent.append(name)
        return real(dbapi, name, params)

    monkeypatch.setattr(pg_send, "send_prepared", spy)
    return sent


def test_a_sent_overlay_reports_as_the_blocking_one(city: Store, monkeypatch) -> None:
    assert pg_send.libpq() is not None  # psycopg2's libpq is found on this machine
    sites = _sites(city)
    sent = _count_sent(monkeypatch)
    got = _reports(city, sites)
    assert len(sent) >= len(sites) - 1  # all but the first (no catalogue read yet)
    assert sum(len(r["capacity"]["layers"]) for r in got) == len(sites)
    assert any(f["overlap_m2"] > 0 for r in got for f in r["findings"])
    # the overlaps themselves, piece for piece, as the blocking statement gives them
    for site in sites:
        pending = city.backend.start_overlay_current(site.geometry, site.zone_epsg,
                                                     store=city)
        layers, overlaps = pending.result()
        want_layers, want = overlay_current_postgis(site.geometry, site.zone_epsg,
                                                    store=city)
        assert layers == want_layers
        assert [(o.layer.id, o.area_m2, o.class_area_m2,
                 [(h.fid, h.klass, h.area_m2, h.geometry.wkb) for h in o.hits])
                for o in overlaps] == [
                (o.layer.id, o.area_m2, o.class_area_m2,
                 [(h.fid, h.klass, h.area_m2, h.geometry.wkb) for h in o.hits])
                for o in want]
    _ordinary(monkeypatch)
    assert _reports(city, sites) == got
    assert city.engine.pool.checkedout() == 0  # every connection went back


def test_without_libpq_or_when_the_server_refuses_the_answer_is_the_same(
        city: Store, monkeypatch) -> None:
    sites = _sites(city)[:4]
    got = _reports(city, sites)
    with monkeypatch.context() as m:  # no libpq to send with: the blocking statement
        m.setattr(pg_send, "libpq", lambda: None)
        assert _reports(city, sites) == got
    with monkeypatch.context() as m:  # the server refuses what was sent: asked again
        real = pg_send.send_prepared
        m.setattr(pg_send, "send_prepared",
                  lambda dbapi, name, params: real(dbapi, "no_such_statement", params))
        assert _reports(city, sites) == got
    assert city.engine.pool.checkedout() == 0
    assert _reports(city, sites) == got  # and the connections still work


def test_a_catalogue_changed_since_it_was_read_is_read_again(
        city: Store, monkeypatch) -> None:
    """The overlay is sent on the catalogue last read and the capacity read on it; when
    the statement's own marker says the catalogue has changed since, both are done again
    on the current one (and a failure of the first capacity reading does not count)."""
    site = _sites(city)[4]
    before = vet_site(VetRequest(site=site), store=city).to_json()  # the catalogue kept
    assert [x["layer"] for x in before["capacity"]["layers"]] == ["env_capacity"]
    remove_layer("env_capacity", store=city, actor="test")  # by another process, say
    real = vetting.capacity_under_site
    read_on: list[list[str]] = []

    def spy(site: Any, layers: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        read_on.append([x.name for x in layers])
        if len(read_on) == 1:  # the removed raster's file is gone too: not this report's
            raise FileNotFoundError("env_capacity.tif")
        return real(site, layers, *args, **kwargs)

    monkeypatch.setattr(vetting, "capacity_under_site", spy)
    sent = _count_sent(monkeypatch)
    report = vet_site(VetRequest(site=site), store=city).to_json()
    assert sent == ["blueprint_overlay_current"]
    assert read_on == [["env_capacity"], []]  # on the kept catalogue, then the current
    assert report["capacity"]["layers"] == []
    assert "env_capacity" not in [x["name"] for x in report["layers"]]
    monkeypatch.undo()
    _ordinary(monkeypatch)
    assert vet_site(VetRequest(site=site), store=city).to_json() == report


def test_a_failure_before_the_answer_gives_the_connection_back(
        city: Store, monkeypatch) -> None:
    site = _sites(city)[2]
    want = _reports(city, [site])

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("capacity failed")

    with monkeypatch.context() as m:
        m.setattr(vetting, "capacity_under_site", broken)
        for _ in range(3):
            with pytest.raises(RuntimeError, match="capacity failed"):
                vet_site(VetRequest(site=site), store=city)
    assert city.engine.pool.checkedout() == 0
    assert _reports(city, [site]) == want


def test_a_connection_killed_while_the_overlay_runs_is_replaced(
        city: Store, monkeypatch) -> None:
    """The server ends the connection after the statement went out: the answer is asked
    for again on a sound connection, and the dead one leaves the pool."""
    import sqlalchemy as sa

    site = _sites(city)[3]
    want = _reports(city, [site])
    real = pg_send.send_prepared
    killed: list[int] = []

    def send_then_kill(dbapi: Any, name: str, params: Any) -> pg_send.Sent:
        sent = real(dbapi, name, params)
        pid = dbapi.get_backend_pid()
        with city.engine.connect() as other:  # another pooled connection
            assert other.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                                 {"pid": pid}).scalar_one()
        killed.append(pid)
        return sent

    with monkeypatch.context() as m:
        m.setattr(pg_send, "send_prepared", send_then_kill)
        assert _reports(city, [site]) == want
    assert killed
    assert city.engine.pool.checkedout() == 0
    with city.engine.connect() as conn:
        pids = {conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()}
    assert killed[0] not in pids
    assert _reports(city, [site]) == want
