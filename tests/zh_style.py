"""Finding half-width punctuation inside Chinese text (used by ``test_style_zh.py``).

Rules (docs/style-guide-zh.md): in Chinese text ``，：；（）`` are full-width. A half-width
``, : ;`` next to a Chinese character, or ``( )`` around Chinese text or next to it, is an
error; between ASCII letters and digits (``EPSG:4490``, ``SO2=1,NOx=2``) it is code and fine.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

HALF = {",": "，", ":": "：", ";": "；", "(": "（", ")": "）"}
HOLE = "\x00"  # stands for a placeholder ({...} in an f-string)
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _is_cjk(ch: str | None) -> bool:
    return ch is not None and bool(_CJK.match(ch))


def _near(text: str, i: int, step: int) -> str | None:
    j = i + step
    while 0 <= j < len(text) and text[j] == " ":
        j += step
    return text[j] if 0 <= j < len(text) else None


def nested_parens(text: str) -> bool:
    """True for ``（…（…）…）``: a parenthesis inside another one."""
    depth = 0
    for ch in text:
        depth += {"（": 1, "）": -1, "(": 1, ")": -1}.get(ch, 0)
        if depth > 1:
            return True
    return False


def _match(text: str, i: int) -> int | None:
    depth = 0
    for j in range(i, len(text)):
        depth += {"(": 1, ")": -1}.get(text[j], 0)
        if depth == 0:
            return j
    return None


_REGEX = re.compile(r"\\[sdwSb]|\(\?")
_ENGLISH = re.compile(r"\b(is|are|the|must|cannot|only|not|has|a)\b")


def _english(segment: str) -> bool:
    """An English sentence that quotes a Chinese term keeps English punctuation."""
    first = re.search(r"[A-Za-z\u4e00-\u9fff]", segment)
    return bool(first and first.group().isascii()) or bool(_ENGLISH.search(segment))


def _opener(text: str, i: int) -> str | None:
    depth = 0
    for j in range(i - 1, -1, -1):
        if text[j] in ")）":
            depth += 1
        elif text[j] in "(（":
            if depth == 0:
                return text[j]
            depth -= 1
    return None


def violations(text: str) -> list[int]:
    """Indexes of half-width punctuation that sits inside Chinese text."""
    if _REGEX.search(text):
        return []
    bad: list[int] = []
    start = 0
    for segment in text.split(" / "):
        if not _english(segment):
            bad += [start + i for i in _violations(segment)]
        start += len(segment) + 3
    return bad


def _violations(text: str) -> list[int]:
    bad: set[int] = set()
    for i, ch in enumerate(text):
        before = text[i - 1] if i else None
        after = text[i + 1] if i + 1 < len(text) else None
        if ch in ",;" and (_is_cjk(_near(text, i, -1)) or _is_cjk(_near(text, i, 1))
                           or (before == after == HOLE and _HAN.search(text))):
            bad.add(i)
        elif ch == ":" and (_is_cjk(_near(text, i, -1)) or before in ("]", "）")
                            or _is_cjk(after)):
            bad.add(i)
        elif ch == "(":
            j = _match(text, i)
            inner = text[i + 1:j] if j is not None else text[i + 1:]
            if _is_cjk(_near(text, i, -1)) or _HAN.search(inner) or (
                    j is not None and _is_cjk(_near(text, j, 1))):
                bad.add(i)
                if j is not None:
                    bad.add(j)
        elif ch == ")" and (_is_cjk(_near(text, i, 1)) or _is_cjk(_near(text, i, -1))
                            or _opener(text, i) == "（"):
            bad.add(i)
    return sorted(bad)


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            ids.add(id(body[0].value))
    return ids


def python_texts(path: Path) -> Iterator[tuple[int, str]]:
    """Every string literal of a Python file (f-string holes as HOLE), docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for v in node.values:
                inner.add(id(v))
                if isinstance(v, ast.FormattedValue) and v.format_spec is not None:
                    inner.update(id(n) for n in ast.walk(v.format_spec))
            yield node.lineno, "".join(v.value if isinstance(v, ast.Constant) else HOLE
                                       for v in node.values)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in skip and id(node) not in inner):
            yield node.lineno, node.value


_REGEX_BEFORE = set("(,=:[!&|?{};") | {""}


def js_texts(path: Path) -> Iterator[tuple[int, str]]:
    """Every string literal of a JavaScript file (comments and regex literals skipped)."""
    src, i, line, prev = path.read_text(encoding="utf-8"), 0, 1, ""
    while i < len(src):
        ch = src[i]
        if src.startswith("//", i):
            i = src.find("\n", i)
            i = len(src) if i < 0 else i
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2) + 2
            line += src.count("\n", i, end)
            i = end
        elif ch in "\"'`":
            j, buf = i + 1, []
            while j < len(src) and src[j] != ch:
                if src[j] == "\\":
                    buf.append(src[j:j + 2])
                    j += 2
                    continue
                buf.append(src[j])
                j += 1
            yield line, "".join(buf)
            line += src.count("\n", i, j)
            i, prev = j + 1, ch
        elif ch == "/" and prev in _REGEX_BEFORE:
            j = i + 1
            while j < len(src) and src[j] != "/":
                if src[j] == "[":
                    j = src.index("]", j)
                j += 2 if src[j] == "\\" else 1
            i, prev = j + 1, "/"
        else:
            if ch == "\n":
                line += 1
            if not ch.isspace():
                prev = ch if not (ch.isalnum() or ch == "_") else "a"
                if src.startswith("return", i):
                    prev = ""
                    i += 5
            i += 1


def toml_texts(path: Path) -> Iterator[tuple[int, str]]:
    """Every string value of a TOML file (line numbers unknown: 0)."""
    def walk(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)
    for text in walk(tomllib.loads(path.read_text(encoding="utf-8"))):
        yield 0, text


_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")
_ATTR = re.compile(r'="([^"]*)"')
_TAG = re.compile(r"<[^>]*>")


def html_texts(path: Path) -> Iterator[tuple[int, str]]:
    """The text and attribute values of a page template, line by line (Jinja parts are holes)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(("<style", "<script")):
            continue
        line = _JINJA.sub(HOLE, line)
        for value in _ATTR.findall(line):
            yield number, value
        for text in _TAG.sub("\n", line).split("\n"):
            if text.strip():
                yield number, text.strip()


def template_files(root: Path) -> list[Path]:
    """Every file whose strings reach a user: the core, the edges, the map's scripts and the
    page templates."""
    files = [p for d in ("analysis", "layers", "service", "web") for p in
             sorted((root / d).rglob("*.py"))]
    files += sorted((root / "web" / "static").glob("*.js"))
    files += sorted(root.glob("analysis/**/*.toml"))
    files += sorted((root / "web" / "templates").glob("*.html"))
    return [p for p in files if "migrations" not in p.parts]


def scan(root: Path) -> list[str]:
    """``path:line: text`` for every literal with half-width punctuation in Chinese text."""
    found = []
    for path in template_files(root):
        texts = {".py": python_texts, ".js": js_texts, ".toml": toml_texts,
                 ".html": html_texts}[path.suffix](path)
        for line, text in texts:
            if violations(text):
                found.append(f"{path.relative_to(root)}:{line}: {text.replace(HOLE, '{}')!r}")
    return found
