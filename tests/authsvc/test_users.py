"""Seeded users: hashed once per machine into a cache file, and a cache that does not check is not trusted."""

from __future__ import annotations

from pathlib import Path

from harness.authsvc.users import _check, password_of, seed_users


def _all_check(table: dict[str, bytes]) -> bool:
    return all(_check(password_of(name), hashed) for name, hashed in table.items())


def test_seeded_users_are_hashed_once_and_read_back_from_the_cache(tmp_path: Path) -> None:
    first = seed_users(20, 4, cache_dir=tmp_path)
    cache = tmp_path / "users-bcrypt-04.tsv"
    assert len(cache.read_bytes().splitlines()) == 20
    again = seed_users(20, 4, cache_dir=tmp_path)
    assert again.hashes == first.hashes and _all_check(again.hashes)
    more = seed_users(25, 4, cache_dir=tmp_path)  # five more users are hashed and added; the twenty are reused
    assert {name: more.hashes[name] for name in first.hashes} == first.hashes
    assert len(more.hashes) == 25 and _all_check(more.hashes)
    assert len(cache.read_bytes().splitlines()) == 25
    assert [p.name for p in tmp_path.iterdir()] == ["users-bcrypt-04.tsv"]


def test_a_cache_whose_hashes_do_not_check_is_hashed_again(tmp_path: Path) -> None:
    wrong = seed_users(1, 4, cache_dir=tmp_path / "other").hashes["user0"]  # well formed, for another password
    cache = tmp_path / "users-bcrypt-04.tsv"
    cache.write_bytes(b"".join(b"user%d\t%s\n" % (i, wrong) for i in range(5)))
    table = seed_users(5, 4, cache_dir=tmp_path)
    assert _all_check(table.hashes)
    assert _all_check(seed_users(5, 4, cache_dir=tmp_path).hashes)  # and the cache was written again, right


def test_a_malformed_or_other_cost_cache_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "users-bcrypt-04.tsv"
    for text in (b"garbage\n", b"user0\t$2b$05$" + b"x" * 53 + b"\n", b"\x00\xff"):
        cache.write_bytes(text)
        assert _all_check(seed_users(3, 4, cache_dir=tmp_path).hashes)


def test_an_unwritable_cache_directory_still_seeds(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert _all_check(seed_users(3, 4, cache_dir=blocker / "cache").hashes)
