"""Alerts are stored once and hooks are told once, across re-runs and restarts."""

from __future__ import annotations

from stormwatch.store.alerts import AlertStore
from stormwatch.store.sqlite import SQLiteStore


def _alert(at: str, level: str = "warning", kind: str = "hostility") -> dict:
    return {
        "at": at,
        "level": level,
        "kind": kind,
        "evidence": {"negative": 0.7},
        "recommendation": "tighten moderation",
    }


def test_alerts_are_kept_once_and_notified_once(tmp_path):
    with SQLiteStore(tmp_path / "a.db") as store:
        alerts = AlertStore(store.db)
        assert alerts.record([_alert("2013-11-13T19:00"), _alert("2013-11-13T19:00")], 0) == 1
        assert (
            alerts.record(
                [_alert("2013-11-13T19:00"), _alert("2013-11-13T19:10", "critical")], 1000
            )
            == 1
        )
        assert alerts.record([_alert("2013-11-13T19:20", "watch")], 2000) == 1
        due = alerts.to_notify(since_ms=500)
        assert [(a["at"], a["level"]) for a in due] == [("2013-11-13T19:10", "critical")]
        alerts.notified(due[0]["alert_id"])
        assert alerts.to_notify(since_ms=0) == [
            a for a in alerts.to_notify(since_ms=0) if a["at"] == "2013-11-13T19:00"
        ]
        history = alerts.history()
        assert [h["level"] for h in history] == ["warning", "critical", "watch"]
        assert [h["notified"] for h in history] == [False, True, False]
        assert history[0]["evidence"] == {"negative": 0.7}
