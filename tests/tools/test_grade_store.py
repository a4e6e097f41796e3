"""The grader's kept results (vae_course/tools/grade_store.py): shards, keys and records."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from vae_course.checks.results import Status
from vae_course.tools import grade_store
from vae_course.tools.gradebook import Row


@pytest.mark.parametrize("text, shard", [("1/1", (1, 1)), ("3/8", (3, 8)), (" 2 / 2 ", (2, 2))])
def test_a_shard_is_written_k_of_n(text, shard):
    assert grade_store.parse_shard(text) == shard


@pytest.mark.parametrize("text", ["0/4", "5/4", "3", "a/b", "-1/4", "", "1/0"])
def test_a_bad_shard_says_how_to_write_one(text):
    with pytest.raises(ValueError, match="K/N with 1 <= K <= N"):
        grade_store.parse_shard(text)


def test_a_student_always_lands_in_the_same_shard_and_the_shards_share_the_class():
    students = [f"student{i:03d}" for i in range(400)]
    first = [grade_store.shard_of(s, 4) for s in students]
    assert first == [grade_store.shard_of(s, 4) for s in reversed(students)][::-1]
    counts = Counter(first)
    assert set(counts) == {1, 2, 3, 4} and min(counts.values()) > 60, counts
    assert grade_store.shard_of("élève \udcff", 3) in {1, 2, 3}  # any name, even undecodable


def test_the_key_changes_with_the_file_the_path_or_the_settings():
    settings = grade_store.settings_digest(timeout=60)
    key = grade_store.record_key("a/01.ipynb", b"{}", settings)
    assert key == grade_store.record_key("a/01.ipynb", b"{}", settings)
    others = {grade_store.record_key("b/01.ipynb", b"{}", settings),
              grade_store.record_key("a/01.ipynb", b"{ }", settings),
              grade_store.record_key("a/01.ipynb", b"{}", grade_store.settings_digest(timeout=61))}
    assert key not in others and len(others) == 3


def rows(status=Status.PASSED):
    return [Row("a/01.ipynb", "01_autoencoder", "autoencode", status, "ok", student="a"),
            Row("a/01.ipynb", "01_autoencoder", "reconstruction_loss", Status.FAILED, "sign",
                student="a", points=1.0, max_points=1.0)]


def test_a_record_gives_back_its_rows_without_points(tmp_path):
    store = grade_store.Store(tmp_path)
    assert store.get("k") is None
    store.put("k", rows(), path="a/01.ipynb", position=0, sandboxed=True)
    back = store.get("k")
    assert [(r.exercise, r.status, r.message, r.student) for r in back] == \
        [(r.exercise, r.status, r.message, r.student) for r in rows()]
    assert all(r.points == 0 and r.max_points == 0 for r in back)  # awarded at report time
    assert [p.name for p in tmp_path.iterdir()] == ["k.result.json"]  # no partial file left


def test_a_damaged_or_foreign_record_counts_as_not_graded(tmp_path):
    store = grade_store.Store(tmp_path)
    (tmp_path / f"half{grade_store.SUFFIX}").write_text('{"format": "vae-course-grade-res')
    (tmp_path / f"other{grade_store.SUFFIX}").write_text(json.dumps({"format": "x", "rows": []}))
    assert store.get("half") is None and store.get("other") is None
    assert store.records() == []


def test_collect_keeps_the_newest_record_of_each_submission_in_class_order(tmp_path):
    one, two = grade_store.Store(tmp_path / "1"), grade_store.Store(tmp_path / "2")
    two.put("b", rows(), path="b/01.ipynb", position=1, sandboxed=True)
    one.put("old", rows(Status.FAILED), path="a/01.ipynb", position=0, sandboxed=True)
    two.put("new", rows(Status.PASSED), path="a/01.ipynb", position=0, sandboxed=True)
    records = grade_store.collect([tmp_path / "1", tmp_path / "2"])
    assert [r["path"] for r in records] == ["a/01.ipynb", "b/01.ipynb"]
    assert grade_store.rows_of(records[0])[0].status == Status.PASSED

