"""``blueprint restore`` checks a backup before it unpacks anything (issue 12): a file over
``BLUEPRINT_MAX_RESTORE_GB``, an archive unpacking to more, and entries a backup never
holds (paths out of the folder, links, other names) are refused with exit 2 and a clear
message; the store is left as it was."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from blueprint.layers.backup import backup_store, restore_store
from blueprint.layers.errors import BadInput, TooLarge
from blueprint.layers.store import open_store
from blueprint.layers.users import create_user, list_users
from blueprint.service.cli.root import main


def _tar(path: Path, members: dict[str, bytes], *, link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    return path


def _cli(args: list[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str], **env: str) -> tuple[int, str]:
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", "")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("sys.argv", ["blueprint", *args])
    with pytest.raises(SystemExit) as done:
        main()
    return int(done.value.code or 0), capsys.readouterr().err


def test_restore_refuses_big_and_strange_backups(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "store"
    store = open_store("", data)
    create_user("王科长", "viewer", None, store=store, actor="test")
    good = tmp_path / "good.tar.gz"
    backup_store(good, store=store)
    db = (data / "blueprint.db").read_bytes()
    # over the configured cap (0.000001 GiB ≈ 1 KiB): exit 2, one clear line
    code, err = _cli(["restore", str(good), "--force"], data, monkeypatch, capsys,
                     BLUEPRINT_MAX_RESTORE_GB="0.000001")
    assert code == 2 and "BLUEPRINT_MAX_RESTORE_GB" in err and "备份文件过大" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    cases = {
        "slip": _tar(tmp_path / "slip.tar.gz", {"manifest.json": b"{}",
                                                "../../evil.txt": b"x"}),
        "absolute": _tar(tmp_path / "abs.tar.gz", {"/tmp/evil.txt": b"x"}),
        "link": _tar(tmp_path / "link.tar.gz", {"manifest.json": b"{}"},
                     link="rasters/passwd"),
        "other": _tar(tmp_path / "other.tar.gz", {"manifest.json": b"{}",
                                                  "run.sh": b"rm -rf /"}),
    }
    for name, archive in cases.items():
        code, err = _cli(["restore", str(archive), "--force"], data, monkeypatch, capsys)
        assert code == 2 and "备份文件含有不应有的内容" in err, (name, err)
    assert not (tmp_path.parent / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()
    # unpacking to more than the cap, though the archive itself is small
    zeros = _tar(tmp_path / "zeros.tar.gz", {"manifest.json": b"{}",
                                             "blueprint.db": b"\0" * 4_000_000})
    assert zeros.stat().st_size < 100_000
    with pytest.raises(TooLarge, match="unpacks to more than"):
        restore_store(zeros, store=store, force=True, max_bytes=1_000_000)
    with pytest.raises(BadInput, match="not a Blueprint backup"):
        restore_store(_tar(tmp_path / "no.tar.gz", {"rasters/a.tif": b"x"}), store=store,
                      force=True)
    (tmp_path / "cut.tar.gz").write_bytes(good.read_bytes()[:200])
    with pytest.raises(BadInput, match="not a Blueprint backup"):
        restore_store(tmp_path / "cut.tar.gz", store=store, force=True)
    assert (data / "blueprint.db").read_bytes() == db
    assert [u.name for u in list_users(store=store)] == ["王科长"]
    restore_store(good, store=store, force=True)  # the real backup still restores
    assert [u.name for u in list_users(store=store)] == ["王科长"]
    store.close()
