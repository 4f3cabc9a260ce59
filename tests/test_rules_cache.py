"""Rules are parsed once per file version and kind registry, and re-read when either changes."""

from __future__ import annotations

import os
import shutil

from blueprint.analysis.rules import DEFAULT_RULES, load_rules
from blueprint.layers.kinds import DEFAULT_KINDS, load_kinds, use_kinds


def test_the_same_file_gives_the_same_rules_object():
    assert load_rules() is load_rules()
    assert load_rules(DEFAULT_RULES) is load_rules()


def test_an_edited_file_is_read_again(tmp_path):
    path = tmp_path / "rules.toml"
    shutil.copy(DEFAULT_RULES, path)
    first = load_rules(path)
    text = path.read_text(encoding="utf-8").replace("min_overlap_m2 = 1.0", "min_overlap_m2 = 7.5")
    assert text != path.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    again = load_rules(path)
    assert again is not first
    assert (first.min_overlap_m2, again.min_overlap_m2) == (1.0, 7.5)


def test_another_kind_registry_gives_other_rules():
    packaged = load_rules()
    with use_kinds(load_kinds(DEFAULT_KINDS)):
        inside = load_rules()
    assert inside is not packaged
    assert inside == packaged  # same files, same content
    assert load_rules() == packaged
