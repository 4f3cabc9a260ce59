"""Audit rows written by requests to ``blueprint serve`` are the signed-in user's, not the
command line's: the server runs inside the CLI command, whose audit origin (``via: cli``,
the operating-system user) every request inherited, so a sign-in on the web page was
recorded as made on the command line by ``root``. The sample the command itself loads
keeps the CLI's origin."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from blueprint.layers.audit import read_audit
from blueprint.layers.store import open_store
from blueprint.layers.users import create_user
from tests.live_server import PASSWORD, serving


def test_a_sign_in_on_the_served_page_is_not_recorded_as_the_command_lines(tmp_path: Path
                                                                          ) -> None:
    data = tmp_path / "served"
    with serving(data) as live:
        store = open_store("", data)
        try:
            create_user("窗口人员", "nr_staff", None, store=store, actor="test",
                        password=PASSWORD)
        finally:
            store.close()
        with httpx.Client(base_url=live.base, timeout=30) as client:
            form = client.get("/login")
            token = re.search(r'name="login_token" value="([^"]+)"', form.text)
            assert token, form.text[:300]
            signed = client.post("/login", data={"name": "窗口人员", "password": PASSWORD,
                                                 "login_token": token.group(1), "next": "/"})
            assert signed.status_code in (200, 303), signed.text[:300]
            assert client.cookies, "signed in: a session cookie"
    store = open_store("", data)
    try:
        rows = read_audit(store=store, limit=10_000)
    finally:
        store.close()
    sign_ins = [r for r in rows if r.actor == "窗口人员"]
    assert sign_ins, [(r.actor, r.action) for r in rows[-5:]]
    assert all("origin" not in r.detail for r in sign_ins), [r.detail for r in sign_ins]
    # what the command itself did (the sample it loaded) still names the command line
    loaded = [r for r in rows if r.detail.get("origin")]
    assert loaded and all(r.detail["origin"]["via"] == "cli" for r in loaded)
