"""Digits ``str.isdigit()`` accepts but ``int()`` does not read (superscripts: ²) passed a
few checks as numbers and then failed in ``int()``: a 500 for ``/projects?page=²`` and
``/quota?page=²``, an internal error for a round period, a quarter or ``EPSG:²``. The checks
now ask ``isdecimal()``, exactly what ``int()`` reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from blueprint.analysis.site import _epsg_key
from blueprint.analysis.tracking.dispatch import check_quarter
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store
from blueprint.web.project_view import period
from tests.test_pages import _client, _login, _users, city  # noqa: F401  (city: fixture)


def test_the_core_checks_refuse_or_pass_them_by() -> None:
    with pytest.raises(BadInput, match="period_days"):
        period("²")
    with pytest.raises(BadInput, match="quarter"):
        check_quarter("202²-Q1")
    assert _epsg_key("EPSG:²") == "EPSG:²"  # not a code: left to the CRS check to refuse
    assert period("١٠") == 10  # digits int() does read are still numbers


@pytest.mark.parametrize("path", ["/projects?page=²", "/quota?page=²", "/quota?done=²"])
def test_a_page_number_int_cannot_read_is_the_first_page(city: Store, tmp_path: Path,  # noqa: F811
                                                         path: str) -> None:
    _users(city)
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        answer = client.get(path)
    assert answer.status_code == 200, answer.text[-800:]


LONG = "9" * 4500  # more digits than int() reads (4300): a ValueError, not a number


@pytest.mark.parametrize("path", [f"/projects?page={LONG}", f"/tracking?page={LONG}",
                                  f"/audit?page={LONG}", f"/quota?page={LONG}",
                                  "/projects?page=00", "/audit?page=00"],
                         ids=lambda path: path[:16])
def test_a_page_number_of_any_length_is_a_page(city: Store, tmp_path: Path,  # noqa: F811
                                               path: str) -> None:
    """A page number longer than ``int()`` reads is beyond the last page, as ``?page=99``
    is (it answered 500); ``00`` is no page number, as ``0`` is not (it asked the store for
    the page before the first: a negative offset)."""
    _users(city)
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        answer = client.get(path)
    assert answer.status_code == 200, answer.text[-800:]


def test_a_period_longer_than_int_reads_is_refused() -> None:
    with pytest.raises(BadInput, match="period_days"):
        period(LONG)
    assert period("0010") == 10
