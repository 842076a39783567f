"""kill -9 in the middle of `analyze`, then a re-run: nothing lost, nothing doubled."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import orjson


def test_kill_9_mid_run_then_rerun(tmp_path):
    n = 30_000
    source = tmp_path / "big.jsonl"
    with open(source, "wb") as handle:
        for i in range(n):
            handle.write(
                orjson.dumps(
                    {
                        "id": str(i),
                        "text": f"post number {i} about #AskX?",
                        "author_id": str(i % 997),
                        "edit_history_tweet_ids": [str(i)],
                    }
                )
                + b"\n"
            )
    db = tmp_path / "crash.db"
    cmd = [
        sys.executable,
        "-m",
        "stormwatch",
        "analyze",
        str(source),
        "--db",
        str(db),
        "--batch-size",
        "500",
        "--json",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stored = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
                stored = con.execute("SELECT count(*) FROM posts").fetchone()[0]
        except sqlite3.OperationalError:
            continue
        if stored >= 3000:
            break
    assert proc.poll() is None, "analyze finished before it could be killed; grow the input"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as con:
        partial = con.execute("SELECT count(*) FROM posts").fetchone()[0]
    assert 0 < partial < n

    rerun = subprocess.run(cmd, capture_output=True, check=True)
    summary = orjson.loads(rerun.stdout)
    assert summary["posts"] == n
    assert summary["duplicates"] == partial
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(DISTINCT post_id) FROM posts").fetchone()[0] == n
        assert con.execute("SELECT count(*) FROM scores").fetchone()[0] == n
        statuses = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY run_id")]
    assert statuses == ["running", "finished"]  # the killed run is visible as unfinished
