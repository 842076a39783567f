"""Build the bundled sample campaign from TweetEval (real public tweets, re-timed).

    python scripts/make_sample_campaign.py [--data ../shared/data]

Writes src/stormwatch/data/sample_campaign.jsonl.gz (X API v2 filtered-stream lines) and
sample_truth.csv.gz (each post's source dataset, line and gold label). Seeded: the same data
gives the same files. See src/stormwatch/data/SAMPLE.md for what is in it and why.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson

from stormwatch.settings import data_dir

SEED = 20131113
HASHTAG = "#AskBrand"
BRAND = "Brand"
START = datetime(2013, 11, 13, 14, 0, tzinfo=UTC)
HOURS = 20
TWITTER_EPOCH_MS = 1288834974657
OUT = Path(__file__).resolve().parents[1] / "src" / "stormwatch" / "data"


def rate_per_hour(hour: float) -> float:
    """Calm start (~40/h), hijack from hour 4 ramping to ~700/h by hour 6, decay after 9."""
    calm = 40.0
    if hour < 4:
        return calm
    if hour < 6:
        return calm + (700 - calm) * (hour - 4) / 2
    if hour < 9:
        return 700.0
    return calm + (700 - calm) * math.exp(-(hour - 9) / 2.5)


def read_split(root: Path, task: str) -> tuple[list[str], list[int]]:
    folder = root / "tweeteval" / "datasets" / task
    texts = (folder / "test_text.txt").read_text(encoding="utf-8").splitlines()
    labels = [int(x) for x in (folder / "test_labels.txt").read_text().split()]
    return [t.strip() for t in texts], labels


def snowflake(when: datetime, seq: int) -> str:
    ms = int(when.timestamp() * 1000) - TWITTER_EPOCH_MS
    return str((ms << 22) | (seq & 0x3FFFFF))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    root = data_dir(args.data)
    rng = np.random.default_rng(SEED)

    sent_texts, sent_labels = read_split(root, "sentiment")
    off_texts, off_labels = read_split(root, "offensive")
    pools = {
        label: rng.permutation([i for i, y in enumerate(sent_labels) if y == label]).tolist()
        for label in (0, 1, 2)
    }
    offensive_pool = rng.permutation([i for i, y in enumerate(off_labels) if y == 1]).tolist()

    # Arrival times by thinning a Poisson process against the rate curve.
    times: list[float] = []
    t = 0.0
    peak = 700.0
    while t < HOURS:
        t += rng.exponential(1 / peak)
        if t < HOURS and rng.random() < rate_per_hour(t) / peak:
            times.append(t)

    # Accounts: a calm community, and a hijacking crowd with heavy posters and young accounts.
    n_accounts = 2600
    account_created = [
        START - timedelta(days=int(rng.integers(30, 2400))) for _ in range(n_accounts)
    ]
    young = list(range(n_accounts - 60, n_accounts))
    for a in young:
        account_created[a] = START - timedelta(hours=int(rng.integers(2, 40)))
    followers = np.round(rng.lognormal(5.0, 1.6, n_accounts)).astype(int)
    zipf = 1 / np.arange(1, n_accounts + 1) ** 0.9
    zipf /= zipf.sum()

    users: dict[int, dict] = {}

    def user(a: int) -> dict:
        if a not in users:
            users[a] = {
                "id": str(10_000_000 + a * 7919),
                "username": f"user{a:04d}",
                "name": f"User {a}",
                "created_at": account_created[a].isoformat().replace("+00:00", "Z"),
                "public_metrics": {"followers_count": int(followers[a])},
            }
        return users[a]

    lines: list[bytes] = []
    truth: list[tuple[str, str, int, int]] = []
    posted: list[tuple[str, str, str]] = []  # (id, author username, text) for retweets
    take = {label: 0 for label in pools}
    off_taken = 0
    for seq, hour in enumerate(times):
        when = START + timedelta(hours=hour)
        hijack = 4 <= hour < 14
        tweet_id = snowflake(when, seq)
        account = int(rng.choice(n_accounts, p=zipf)) if hijack else int(rng.integers(0, 1500))
        author = user(account)
        retweet = hijack and posted and rng.random() < 0.06
        if retweet:
            orig_id, orig_user, orig_text = posted[
                int(rng.integers(max(0, len(posted) - 300), len(posted)))
            ]
            data = {
                "id": tweet_id,
                "text": f"RT @{orig_user}: {orig_text}"[:280],
                "author_id": author["id"],
                "created_at": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "lang": "en",
                "referenced_tweets": [{"type": "retweeted", "id": orig_id}],
                "edit_history_tweet_ids": [tweet_id],
            }
            truth.append((tweet_id, "retweet", -1, -1))
        else:
            if hijack and rng.random() < 0.15 and off_taken < len(offensive_pool):
                index = offensive_pool[off_taken]
                off_taken += 1
                text, dataset, label = off_texts[index], "offensive", 1
            else:
                mix = (0.65, 0.25, 0.10) if hijack else (0.15, 0.50, 0.35)
                label = int(rng.choice(3, p=mix))
                index = pools[label][take[label]]
                take[label] += 1
                text, dataset = sent_texts[index], "sentiment"
            text = f"{text} {HASHTAG}"
            data = {
                "id": tweet_id,
                "text": text,
                "author_id": author["id"],
                "created_at": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "lang": "en",
                "public_metrics": {
                    "retweet_count": int(rng.poisson(0.8)),
                    "reply_count": 0,
                    "like_count": int(rng.poisson(2.0)),
                    "quote_count": 0,
                },
                "edit_history_tweet_ids": [tweet_id],
            }
            posted.append((tweet_id, author["username"], text))
            truth.append((tweet_id, dataset, index + 1, label))
        line = {
            "data": data,
            "includes": {"users": [author]},
            "matching_rules": [{"id": "1", "tag": "campaign"}],
        }
        lines.append(orjson.dumps(line))

    # A copy-paste wave: 25 young accounts, one grievance, small edits, 8 minutes.
    wave_text = "How many families did you foreclose on before the bonuses were paid?"
    edits = ["", "!", " Seriously.", " #shame", "??"]
    wave_start = START + timedelta(hours=6, minutes=30)
    for k, a in enumerate(young[:25]):
        when = wave_start + timedelta(seconds=int(rng.integers(0, 480)))
        tweet_id = snowflake(when, 4_000_000 + k)
        text = wave_text + edits[k % len(edits)] + f" {HASHTAG}"
        if k % 3 == 0:
            text = text.lower()
        author = user(a)
        data = {
            "id": tweet_id,
            "text": text,
            "author_id": author["id"],
            "created_at": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "lang": "en",
            "edit_history_tweet_ids": [tweet_id],
        }
        lines.append(orjson.dumps({"data": data, "includes": {"users": [author]}}))
        truth.append((tweet_id, "copy_paste_wave", k, 0))

    # Stream reconnects repeat lines; broken lines happen. Keep both, on purpose.
    for i in rng.choice(len(lines), size=20, replace=False):
        lines.append(lines[int(i)])
    lines.append(b'{"data": {"id": "1", "text": "truncated mid-li')
    lines.append(b"<html>502 Bad Gateway</html>")
    lines.append(b'{"data": {"id": "400000000000000001", "author_id": "1"}}')
    # Keep time order (as a stream delivers), with the extras where they fall.
    keyed = []
    for position in range(len(lines)):
        raw = lines[position]
        try:
            when_key = orjson.loads(raw)["data"]["created_at"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            when_key = "2013-11-13T20:00:00.000Z"
        keyed.append((when_key, position))
    keyed.sort()

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as gz:
        for _, position in keyed:
            gz.write(lines[position] + b"\n")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sample_campaign.jsonl.gz").write_bytes(buffer.getvalue())

    truth_buffer = io.StringIO()
    writer = csv.writer(truth_buffer, lineterminator="\n")
    writer.writerow(["id", "dataset", "test_line", "label"])
    writer.writerows(truth)
    truth_bytes = io.BytesIO()
    with gzip.GzipFile(fileobj=truth_bytes, mode="wb", mtime=0) as gz:
        gz.write(truth_buffer.getvalue().encode())
    (OUT / "sample_truth.csv.gz").write_bytes(truth_bytes.getvalue())
    print(f"{len(keyed)} lines ({len(truth)} posts, 20 repeated, 3 broken) -> {OUT}")


if __name__ == "__main__":
    main()
