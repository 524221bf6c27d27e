"""The daemon's parse cache: a reload parses only the spec files whose bytes changed, and loads exactly
what a load without the cache loads (errors located in their own files)."""

from __future__ import annotations

from pathlib import Path

from specs.loader import ParseCache, load_specs

LINE = """apiVersion: senderctl/v1
kind: PhoneNumber
metadata: {name: NAME}
spec:
  workspace: acme-main
  select: {country: US, type: local}
"""
BROKEN = "apiVersion: senderctl/v1\nkind: PhoneNumber\nmetadata: {name: broken}\nspec: {workspace: [}\n"


def test_only_changed_files_are_parsed_again(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(LINE.replace("NAME", "a"))
    (tmp_path / "b.yaml").write_text(LINE.replace("NAME", "b"))
    cache = ParseCache()
    first = cache.read([str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")])
    (tmp_path / "b.yaml").write_text(LINE.replace("NAME", "b2"))
    second = cache.read([str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")])
    assert second[str(tmp_path / "a.yaml")] is first[str(tmp_path / "a.yaml")]  # same bytes: not parsed again
    assert second[str(tmp_path / "b.yaml")] is not first[str(tmp_path / "b.yaml")]
    assert second[str(tmp_path / "b.yaml")].documents[0].data["metadata"]["name"] == "b2"


def test_a_cached_load_equals_a_fresh_one_with_errors_in_their_own_files(tmp_path: Path) -> None:
    for name in ("one", "two"):  # the same broken bytes in two files: each error names its own file
        (tmp_path / f"{name}.yaml").write_text(BROKEN)
    (tmp_path / "line.yaml").write_text(LINE.replace("NAME", "line"))
    cache = ParseCache()
    for _ in range(2):  # the second load is served from the cache
        cached, fresh = load_specs([tmp_path], cache), load_specs([tmp_path])
        assert [str(e) for e in cached.errors] == [str(e) for e in fresh.errors]
        assert {str(tmp_path / "one.yaml"), str(tmp_path / "two.yaml")} <= {e.location.path for e in cached.errors}
        assert [d.address for d in cached.specs.documents] == [d.address for d in fresh.specs.documents]


def test_the_cache_holds_only_the_files_of_the_last_read(tmp_path: Path) -> None:
    cache = ParseCache()
    for i in range(5):
        (tmp_path / "line.yaml").write_text(LINE.replace("NAME", f"line-{i}"))
        cache.read([str(tmp_path / "line.yaml")])
    assert len(cache._parsed) == 1
