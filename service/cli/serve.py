"""``blueprint serve``: the map and the HTTP API (``--sample`` loads the sample city first)."""

from __future__ import annotations

import copy
import re
import socket
import threading
import webbrowser
from typing import Annotated, Any

import typer

from blueprint.layers.errors import BadInput, BlueprintError
from blueprint.service.cli.console import err, open_store, out
from blueprint.service.cli.sample import SAMPLE_DIR, sample_load

# What each worker process imports (uvicorn ``factory=True``): it builds its own app from
# the environment, and the app's lifespan opens that process's own store.
APP_FACTORY = "blueprint.service.asgi:create_app_from_env"


def _ensure_sample() -> None:
    """Load the sample city when the store holds no layer yet (first start)."""
    store = open_store()
    try:
        from blueprint.layers.repository import list_layers

        empty = not list_layers(store=store)
    finally:
        store.close()
    if not empty:
        return
    if not (SAMPLE_DIR / "manifest.toml").exists():
        err.print("没有图层，也找不到样例数据 data/sample；地图将为空。"
                  "用 blueprint layers import 导入图层。", markup=False)
        return
    out.print("首次启动：导入样例城市（聊城市）图层…")
    try:
        sample_load(SAMPLE_DIR)
    except BlueprintError as exc:  # serve anyway: the map says that there are no layers
        err.print(f"样例数据导入失败：{exc.message_zh}（{exc}）", markup=False)


def _check_port_free(host: str, port: int) -> None:
    """Refuse, in one line, a port that something else already listens on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise BadInput(f"cannot listen on {host}:{port}: {exc.strerror}; choose another "
                           "--port", message_zh=f"端口 {port} 已被占用或不可用，请用 --port 换一个",
                           where=f"{host}:{port}") from None


# A path prefix as a proxy serves the app under it: "/seg" or "/seg/seg…", plain characters.
ROOT_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")


def _checked_root_path(value: str) -> str:
    """``--root-path`` as uvicorn takes it ("" for none): one or more ``/segment``s with no
    trailing slash; anything else is refused naming the form it must have."""
    value = value.strip()
    if value in ("", "/"):
        return ""
    if not ROOT_PATH.fullmatch(value):
        raise BadInput(f"--root-path {value[:80]!r} is not a path prefix such as /blueprint "
                       "(a leading slash, no trailing slash, letters, digits and . _ ~ -)",
                       where="--root-path",
                       message_zh="--root-path 须是路径前缀，如 /blueprint（以 / 开头、不以 / "
                                  "结尾，仅含字母、数字和 . _ ~ -）")
    return value


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    sample: Annotated[bool, typer.Option("--sample/--no-sample",
                                         help="Load data/sample when there are no layers")]
    = False,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the map in a browser")]
    = False,
    workers: Annotated[int, typer.Option(min=1, max=64,
                                         help="Worker processes (each with its own store)")]
    = 1,
    root_path: Annotated[str, typer.Option(
        "--root-path", help="Path prefix a proxy serves the app under, e.g. /blueprint; the "
                            "proxy strips it before passing a request on (docs/deploy.md)")]
    = "",
) -> None:
    """Serve the blueprint map (/) and the HTTP API (/api, /ogc, /docs) with uvicorn."""
    from blueprint.analysis.site_search.config import load_search_config
    from blueprint.layers.audit_chain import AUDIT_ORIGIN
    from blueprint.service import workers as supervisor
    from blueprint.service.settings import get_settings

    get_settings()  # a bad BLUEPRINT_… value is one clear line here, not one per worker
    load_search_config()  # and a BLUEPRINT_SITE_SEARCH_FILE that cannot be used
    if not host.strip():  # "" would listen on every interface
        raise BadInput("--host is empty; give an address such as 127.0.0.1", where="--host",
                       message_zh="--host 不能为空（例如 127.0.0.1）")
    if not 1 <= port <= 65535:
        raise BadInput(f"--port must be between 1 and 65535, not {port}", where="--port",
                       message_zh="--port 须在 1 至 65535 之间")
    root_path = _checked_root_path(root_path)
    _check_port_free(host, port)
    # Create or upgrade the schema once, here, so that workers starting together never race
    # to migrate it; each worker's own upgrade then finds nothing to do.
    open_store().close()
    if sample:
        _ensure_sample()
    # The requests served are not this command's: their audit rows name their own user and
    # must not carry the CLI's origin (via: cli, the OS user), which the server's tasks
    # would otherwise inherit from this context.
    AUDIT_ORIGIN.set(None)
    stop = threading.Event()
    threading.Thread(target=_announce_when_accepting, args=(host, port, open_browser, stop),
                     name="announce", daemon=True).start()
    try:
        # More than one worker: each listens on its own socket, so that connections are
        # spread over the workers (service/workers.py).
        supervisor.run(APP_FACTORY, workers=workers, host=host, port=port, log_level="info",
                       log_config=log_config(), proxy_headers=True, root_path=root_path)
    finally:
        stop.set()


def _announce_when_accepting(host: str, port: int, open_browser: bool,
                             stop: threading.Event) -> None:
    """Say that the map is up (and open it) once the server accepts a connection, not
    before: the workers import the app and run its start-up first, which takes seconds.
    A worker's socket accepts only after its app has started; the kernel hands connections
    only to listening sockets, so from then on every connection is served."""
    probe = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    while not stop.is_set():
        try:
            with socket.create_connection((probe, port), timeout=2):
                break
        except OSError:
            stop.wait(0.1)
    else:
        return  # the server stopped before it accepted anything
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"
    out.print(f"一张蓝图已启动，正在接受连接：在浏览器中打开 {url}（接口文档 {url}docs，"
              "Ctrl+C 退出）", markup=False)
    if open_browser:
        webbrowser.open(url)


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with the worker's process id on every line (which worker served)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = formatter["fmt"].replace("%(levelprefix)s",
                                                    "%(levelprefix)s [%(process)d]", 1)
    return config
