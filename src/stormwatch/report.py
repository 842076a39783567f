"""The post-mortem report: one self-contained HTML file a PR team or a journalist can read,
print and quote (and a PDF of it through WeasyPrint).

`build_report` gathers everything from the store as plain data (also what `report --json`
prints); `render_html` turns it into a page with a Jinja2 template that escapes every value
and inline SVG charts built as element trees. The page loads nothing from the network and
its Content-Security-Policy forbids scripts, so hostile post text can neither execute nor
phone home.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from stormwatch import charts
from stormwatch.analysis import HEADLINE, RunCounts, summarize, window_counts
from stormwatch.core.labels import Layout, hard_labels
from stormwatch.core.quantify import binary_views
from stormwatch.core.text import gist, tags_text
from stormwatch.core.warning import evidence_phrase
from stormwatch.sources.timeparse import iso
from stormwatch.store.base import ModelRef, Scored
from stormwatch.store.sqlite import SQLiteStore

_MINUTE = 60_000
# Window widths a report may pick, smallest first: the first giving <= 60 windows wins.
_WIDTHS = (
    ("1m", _MINUTE),
    ("5m", 5 * _MINUTE),
    ("10m", 10 * _MINUTE),
    ("15m", 15 * _MINUTE),
    ("30m", 30 * _MINUTE),
    ("1h", 60 * _MINUTE),
    ("3h", 180 * _MINUTE),
    ("6h", 360 * _MINUTE),
    ("12h", 720 * _MINUTE),
    ("1d", 1440 * _MINUTE),
    ("7d", 7 * 1440 * _MINUTE),
)
# Labels with example posts, in the order a reader meets them.
_EXAMPLE_LABELS = (
    "negative",
    "positive",
    "offensive",
    "hate",
    "irony",
    "sarcastic",
    "genuine",
    "hostile_question",
)
_LABEL_TITLES = {
    "negative": "Negative",
    "positive": "Positive",
    "offensive": "Offensive",
    "hate": "Hateful",
    "irony": "Ironic",
    "sarcastic": "Sarcastic",
    "genuine": "Genuine questions",
    "hostile_question": "Hostile or rhetorical questions",
}
_WHY = {
    "labelled": (
        "people labelled a random sample of these posts: the model's probabilities of every "
        "post, corrected by how far they were from people's labels on the sample (a "
        "regression estimator, as in survey sampling), so no difference between the "
        "model's training data and this crowd can bias it; each time window's share is that "
        "estimate moved by how far the window's probabilities are from the whole set's, "
        "scaled by how far apart people's positive and negative posts scored on the sample"
    ),
    "cc": "classify and count: no adjusted method was measured to do better for this label",
    "acc": (
        "adjusted classify and count: corrects the count for the classifier's measured "
        "false-positive and false-negative rates, which matters when the crowd differs "
        "from the training data; it had the lowest error in `stormwatch eval quantify`"
    ),
    "pacc": "probabilistic adjusted count: lowest measured error in `stormwatch eval quantify`",
    "pcc": "probabilistic count: lowest measured error in `stormwatch eval quantify`",
    "emq": "EM re-weighting (Saerens et al.): lowest measured error in `stormwatch eval quantify`",
    "macc": (
        "adjusted count over all the task's classes: corrects for the classifier's measured "
        "confusions between every pair of classes (e.g. neutral posts read as negative), "
        "so a crowd made up differently from the validation data is not misread; chosen by "
        "`stormwatch eval quantify` (its evidence is in the model's config)"
    ),
}


def auto_window(first_ms: int, last_ms: int, most: int = 60) -> tuple[str, int]:
    """The smallest round window width that splits the span into at most `most` windows."""
    span = max(last_ms - first_ms, 1)
    for name, width in _WIDTHS:
        if span / width <= most:
            return name, width
    return _WIDTHS[-1]


def _window_name(width_ms: int) -> str:
    for name, width in _WIDTHS:
        if width == width_ms:
            return name
    return f"{width_ms // 1000}s"


def _examples(
    store: SQLiteStore, scored: Scored, layout: Layout, per_label: int
) -> dict[str, list[dict[str, Any]]]:
    """The most confident posts of each label, one per distinct text."""
    views = binary_views(scored.proba, layout, None)
    flags = {label: decisions for label, (_, decisions, _) in views.items()}
    if "question" in flags and "genuine" in flags:
        views["hostile_question"] = (
            views["question"][0] * (1 - views["genuine"][0]),
            flags["question"] & ~flags["genuine"],
            None,
        )
    out: dict[str, list[dict[str, Any]]] = {}
    for label in _EXAMPLE_LABELS:
        if label not in views:
            continue
        scores, decisions, _ = views[label]
        chosen = np.flatnonzero(decisions)
        chosen = chosen[np.argsort(-scores[chosen], kind="stable")]
        picked: list[dict[str, Any]] = []
        seen: set[str] = set()
        # Ranked posts read in blocks until enough distinct texts: a copy-paste wave can
        # fill the top ranks.
        blocks = (chosen[i : i + per_label * 4] for i in range(0, len(chosen), per_label * 4))
        for block in blocks:
            posts = store.posts_by_rowid(scored.rowids[block].tolist())
            for stored, index in zip(posts, block, strict=False):
                key = gist(stored.post.text)
                if key in seen or len(picked) == per_label:
                    continue
                seen.add(key)
                picked.append(
                    {
                        "text": stored.post.text,
                        "author": stored.post.author_handle or stored.post.author_id or "",
                        "time": iso(stored.post.created_at),
                        "probability": round(float(scores[index]), 3),
                    }
                )
            if len(picked) == per_label:
                break
        out[label] = picked
    return out


def _accounts(
    store: SQLiteStore, scored: Scored, layout: Layout, limit: int
) -> list[dict[str, Any]]:
    flags = hard_labels(scored.proba, layout)
    out = []
    for account in store.top_authors(limit):
        mine = np.isin(
            scored.rowids, store.author_rowids(account["platform"], account["author_id"])
        )
        labelled = int(mine.sum())
        account["labelled"] = labelled
        for label in ("negative", "offensive"):
            if label in flags:
                account[f"{label}_share"] = (
                    round(float(flags[label][mine].mean()), 3) if labelled else None
                )
        out.append(account)
    return out


def _methods(model: ModelRef, prevalence: dict[str, Any], warning: Any = None) -> dict[str, Any]:
    from stormwatch.models import installed_config
    from stormwatch.models.card import read_figures

    config: dict[str, Any] = installed_config(model.name, model.version) or {}
    figures = read_figures(model.name) if config else None
    evidence = config.get("quantification_evidence", {})
    estimators = {
        label: {
            "method": p["method"],
            "why": _WHY.get(p["method"], ""),
            # The model-only method's measured error says nothing of a labelled sample.
            "evidence": evidence.get(label) if p["method"] != "labelled" else None,
        }
        for label, p in prevalence.items()
        if label in HEADLINE
    }
    from dataclasses import asdict

    from stormwatch.core.warning import WarningConfig, changed_settings

    return {
        "model": {"name": model.name, "version": model.version, "kind": config.get("kind")},
        "figures": figures,
        "estimators": estimators,
        # The early warning's settings, so the methods section states the rule it ran.
        "warning": asdict(warning or WarningConfig()),
        "warning_changed": changed_settings(warning),
    }


def build_report(
    store: SQLiteStore,
    model: ModelRef,
    include_reposts: bool = False,
    include_non_english: bool = False,
    window_ms: int | None = None,
    examples: int = 5,
    accounts: int = 10,
    crowd: Any = None,
    warning: Any = None,
) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-able data (`crowd`: people's labels of a
    random sample, `crowd.read_sheet`; `warning`: the early warning's `WarningConfig`,
    None as shipped)."""
    stored = store.counts()
    first, last = stored["first"], stored["last"]
    if window_ms is None and first and last:
        _, window_ms = auto_window(int(first.timestamp() * 1000), int(last.timestamp() * 1000))
    summary = summarize(
        store,
        model,
        RunCounts(),
        include_reposts,
        window_ms,
        include_non_english,
        crowd=crowd,
        warning=warning,
    )
    scored = store.scores(model, include_reposts, include_non_english)
    flags = hard_labels(scored.proba, model.layout)
    wanted = {k: flags[k] for k in ("negative", "neutral", "positive", "offensive", "irony")}
    if "question" in flags and "genuine" in flags:
        wanted["genuine"] = flags["genuine"]
        wanted["hostile_question"] = flags["question"] & ~flags["genuine"]
    series = window_counts(scored, wanted, window_ms) if window_ms else {}
    peak = None
    if series:
        i = int(np.argmax(series["posts"]))
        start = summary["windows"][i]["start"]
        peak = {
            "start": start,
            "posts": series["posts"][i],
            "per_hour": round(series["posts"][i] * 3_600_000 / window_ms, 1),
        }
    return {
        "generated": iso(datetime.now(UTC)),
        "headline": {
            "posts": summary["posts"],
            "labelled": summary["labelled"],
            "authors": summary["authors"],
            "reposts": summary["reposts"],
            "non_english": summary["non_english"],
            "first": summary["first"],
            "last": summary["last"],
            "span_hours": summary["span_hours"],
            "peak": peak,
            "statements": summary["statements"],
        },
        "scope": {
            "reposts_included": include_reposts,
            "non_english_included": include_non_english,
            "campaign_tags": summary["campaign_tags"],
        },
        "window": {"width": _window_name(window_ms) if window_ms else None, "ms": window_ms},
        "shares": summary["shares"],
        "prevalence": summary["prevalence"],
        "windows": summary["windows"],
        "series": series,
        "alerts": summary["alerts"],
        "coordination": summary["coordination"],
        "themes": summary.get("themes") or [],
        "examples": _examples(store, scored, model.layout, examples),
        "accounts": _accounts(store, scored, model.layout, accounts),
        "methods": _methods(model, summary["prevalence"], warning),
    }


def _ticks(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Short axis labels and full hover labels for the report's windows."""
    starts = [w["start"] for w in report["windows"]]
    if not starts:
        return [], []
    times = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in starts]
    same_day = times[0].date() == times[-1].date()
    short = [t.strftime("%H:%M" if same_day else "%d %b %H:%M") for t in times]
    return short, [t.strftime("%Y-%m-%d %H:%M UTC") for t in times]


def render_charts(report: dict[str, Any]) -> dict[str, str]:
    """The report's charts as SVG strings (empty when posts carry no times)."""
    series = report["series"]
    sparks = {
        f"theme-{t['id']}": charts.sparkline(t["rise"], f"posts on {t['label']} over time")
        for t in report.get("themes", [])
        if t.get("rise")
    }
    if not series:
        return sparks
    ticks, hover = _ticks(report)
    width = report["window"]["width"]
    out = {
        **sparks,
        "timeline": charts.stacked_bars(
            ticks,
            {k: series[k] for k in ("negative", "neutral", "positive") if k in series},
            f"Posts per {width} window by sentiment",
            hover=hover,
        ),
    }
    labels = [k for k in HEADLINE if any(k in w["prevalence"] for w in report["windows"])]
    if labels:
        values, bands = {}, {}
        for label in labels:
            cells = [w["prevalence"].get(label) for w in report["windows"]]
            values[label] = [c["estimate"] if c else None for c in cells]
            bands[label] = (
                [c["low"] if c else None for c in cells],
                [c["high"] if c else None for c in cells],
            )
        out["prevalence"] = charts.lines_with_bands(
            ticks, values, "Estimated share per window with 95% interval", bands
        )
    posts = series["posts"]
    shares = {
        name: [c / p if p else None for c, p in zip(series[name], posts, strict=True)]
        for name in ("offensive", "irony")
        if name in series
    }
    if shares:
        out["abuse"] = charts.lines_with_bands(ticks, shares, "Share labelled per window")
    if "genuine" in series:
        out["questions"] = charts.stacked_bars(
            ticks,
            {"genuine": series["genuine"], "hostile": series["hostile_question"]},
            "Questions per window: genuine vs hostile or rhetorical",
            hover=hover,
        )
    return out


def readable_time(value: str | None) -> str:
    """`2013-11-13T14:01:19.311Z` -> `2013-11-13 14:01 UTC` (a dash for no time)."""
    if not value:
        return "–"
    return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")


def _environment() -> Any:
    """The templates of the self-contained pages (reports): autoescaped, with filters."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    folder = files("stormwatch") / "templates"
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "–" if v is None else f"{v * 100:.1f}%"
    env.filters["num"] = lambda v: "–" if v is None else f"{v:,}"
    env.filters["when"] = readable_time
    env.filters["hashtags"] = tags_text
    env.globals["evidence_phrase"] = evidence_phrase
    return env


def render_template(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context)


def render_html(report: dict[str, Any], title: str = "Stormwatch report") -> str:
    from markupsafe import Markup

    env = _environment()
    # The charts are serialised element trees (escaped by the serialiser), so safe as is.
    svgs = {name: Markup(svg) for name, svg in render_charts(report).items()}
    return env.get_template("report.html").render(
        report=report, charts=svgs, title=title, titles=_LABEL_TITLES
    )


def write_pdf(html: str, path: Path) -> None:
    """Print the HTML report to PDF with WeasyPrint (the `pdf` extra)."""
    try:
        from weasyprint import HTML
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("PDF output needs WeasyPrint: pip install 'stormwatch[pdf]'") from exc
    HTML(string=html).write_pdf(str(path))
