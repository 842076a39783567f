import numpy as np
import pytest

from stormwatch.analysis import RejectsFile, ingest_and_score, summarize
from stormwatch.models import load_classifier
from stormwatch.records import Post, Reject
from stormwatch.store.sqlite import SQLiteStore


class FailsAfter:
    """The real baseline classifier, made to crash on its Nth batch (failure injection)."""

    def __init__(self, calls: int) -> None:
        self.inner = load_classifier("baseline")
        self.name, self.version, self.layout = (
            self.inner.name,
            self.inner.version,
            self.inner.layout,
        )
        self.left = calls

    def predict_proba(self, texts):
        if self.left == 0:
            raise RuntimeError("power cut")
        self.left -= 1
        return self.inner.predict_proba(texts)


def posts(n: int, start: int = 0) -> list[Post]:
    return [Post(id=str(i), platform="x", text=f"is post {i} any good?") for i in range(start, n)]


def test_crash_while_scoring_then_rerun_scores_the_rest(tmp_path):
    db = tmp_path / "s.db"
    with SQLiteStore(db) as store, pytest.raises(RuntimeError, match="power cut"):
        ingest_and_score(store, FailsAfter(2), posts(100), None, batch_size=10)
    with SQLiteStore(db) as store:
        assert store.post_count() == 30  # batches are committed before they are scored
        counts, model = ingest_and_score(
            store, load_classifier("baseline"), posts(100), None, batch_size=10
        )
        assert (counts.inserted, counts.duplicates) == (70, 30)
        assert counts.scored == 80  # 10 stored-but-unscored + 70 new; none scored twice
        rowids = store.scores(model).rowids
        assert len(rowids) == 100 == len(np.unique(rowids))


def test_rejects_written_and_counted_by_kind(tmp_path):
    sink = RejectsFile(tmp_path / "r.jsonl")
    items = [
        *posts(3),
        Reject("f", 4, "invalid JSON: x", "{"),
        Reject("f", 5, "Jetstream identity event", "{}", "skipped"),
    ]
    with SQLiteStore(tmp_path / "s.db") as store:
        counts, model = ingest_and_score(store, load_classifier("baseline"), items, sink)
        sink.close()
        summary = summarize(store, model, counts)
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert len(lines) == 2 and '"line":4' in lines[0] and '"kind":"skipped"' in lines[1]
    assert (summary["rejected"], summary["skipped"], summary["posts"]) == (1, 1, 3)
    assert summary["shares"]["question"] == 1.0
