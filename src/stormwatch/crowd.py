"""People's labels of a random sample of the crowd: the one reference no shift between the
models' training data and the crowd can bias.

`stormwatch sample DB -n 200 -o sheet.csv` draws posts at random from the set the shares
are about (the same filters as `analyze`), in random order, into a sheet with an empty
column per label. People fill in 1 or 0 from the top (skipping only blank rows at the end:
leaving out the hard ones would bias the sample), and `analyze --crowd-labels sheet.csv`
estimates those labels' shares from the sheet and every post's probability together
(`core.labelled.labelled_sample`). `eval quantify` measures it (rows `labelled100`, ...).
The sheet records the size of the set it was drawn from: a set that grew since is refused
(so the live console, whose set keeps growing, takes no sheet).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stormwatch.core.labelled import labelled_groups, labelled_sample
from stormwatch.core.labels import Layout
from stormwatch.core.quantify import Prevalence, binary_views
from stormwatch.export import spreadsheet_cell
from stormwatch.store.base import ModelRef, Scored
from stormwatch.store.sqlite import SQLiteStore

# drawn_from: how many posts the set held when the sheet was drawn. A sample of an earlier,
# smaller set is not a random sample of a grown one, so a mismatch is refused.
SHEET_COLUMNS = ("rowid", "platform", "id", "text", "drawn_from")
DEFAULT_LABELS = ("negative", "offensive")
TRUE, FALSE = {"1", "yes", "y", "true"}, {"0", "no", "n", "false"}


@dataclass(frozen=True)
class CrowdLabels:
    """A filled-in sheet: label -> {store rowid: 0/1}, and the size of the set it was drawn
    from (None for a sheet made by hand without that column)."""

    marks: dict[str, dict[int, int]]
    drawn_from: int | None = None

    def counts(self) -> dict[str, int]:
        return {label: len(m) for label, m in self.marks.items()}


class SheetError(ValueError):
    """A sheet that cannot be used; the message says where and what to do."""


def _known(labels: Iterable[str], layout: Layout) -> None:
    unknown = [label for label in labels if label not in layout.labels]
    if unknown:
        raise SheetError(
            f"unknown label(s) {', '.join(unknown)}; the model's labels are "
            f"{', '.join(layout.labels)}"
        )


def write_sheet(
    store: SQLiteStore,
    model: ModelRef,
    path: Path,
    n: int,
    labels: Sequence[str] = DEFAULT_LABELS,
    seed: int = 0,
    include_reposts: bool = False,
    include_non_english: bool = False,
) -> int:
    """Draw `n` posts (or all, if fewer) uniformly without replacement, in random order,
    and write the sheet. Returns the number of posts written."""
    _known(labels, model.layout)
    scored = store.scores(
        model, include_reposts=include_reposts, include_non_english=include_non_english
    )
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(scored.rowids)[: min(n, len(scored))]
    posts = {p.rowid: p.post for p in store.posts_by_rowid([int(r) for r in chosen])}
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*SHEET_COLUMNS, *labels])
        for rowid in chosen:
            post = posts[int(rowid)]
            cells = [
                str(int(rowid)),
                post.platform,
                spreadsheet_cell(post.id),
                spreadsheet_cell(post.text),
                str(len(scored)),
            ]
            writer.writerow([*cells, *[""] * len(labels)])
    return len(chosen)


def read_sheet(path: Path) -> CrowdLabels:
    """The labels of a filled-in sheet. Blank cells are unlabelled; anything but 1/0 (or
    yes/no, true/false) is an error naming the line."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        if "rowid" not in columns:
            raise SheetError(f"{path}: no 'rowid' column; use a sheet from `stormwatch sample`")
        labels = [c for c in columns if c not in SHEET_COLUMNS]
        if not labels:
            raise SheetError(f"{path}: no label columns (e.g. negative, offensive)")
        marks: dict[str, dict[int, int]] = {label: {} for label in labels}
        sizes: set[str] = set()
        for line, row in enumerate(reader, start=2):
            try:
                rowid = int(row["rowid"])
            except (TypeError, ValueError):
                raise SheetError(
                    f"{path}, line {line}: rowid {row['rowid']!r} is not a number"
                ) from None
            sizes.add((row.get("drawn_from") or "").strip())
            for label in labels:
                value = (row.get(label) or "").strip().lower()
                if not value:
                    continue
                if value not in TRUE | FALSE:
                    raise SheetError(
                        f"{path}, line {line}: {label} is {row[label]!r}; write 1 or 0 "
                        "(or leave it blank)"
                    )
                marks[label][rowid] = int(value in TRUE)
    if not any(marks.values()):
        raise SheetError(f"{path}: no label filled in yet; write 1 or 0 in the label columns")
    sizes.discard("")
    if len(sizes) > 1 or (sizes and not next(iter(sizes)).isdigit()):
        raise SheetError(f"{path}: the drawn_from column was edited; draw a new sheet")
    return CrowdLabels(
        {label: m for label, m in marks.items() if m},
        int(next(iter(sizes))) if sizes else None,
    )


def _labelled(
    scored: Scored, layout: Layout, crowd: CrowdLabels
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """label -> (every post's probability, the labelled posts' positions, their 0/1 labels),
    after checking that the sheet belongs to this set of posts."""
    if crowd.drawn_from is not None and crowd.drawn_from != len(scored):
        raise SheetError(
            f"the sheet was drawn from {crowd.drawn_from:,} posts and the set now holds "
            f"{len(scored):,} (posts added since, or other --count-reposts / "
            "--all-languages settings): a sample of the old set is not a random sample of "
            "this one; draw a new sheet with `stormwatch sample`"
        )
    _known(crowd.marks, layout)
    position = {int(r): i for i, r in enumerate(scored.rowids)}
    views = binary_views(scored.proba, layout, None)
    out = {}
    for label, marks in crowd.marks.items():
        missing = [r for r in marks if r not in position]
        if missing:
            raise SheetError(
                f"{len(missing)} labelled post(s) (rowid {missing[0]}, ...) are not among "
                "the posts whose shares are estimated: was the sheet drawn from another "
                "store, or with other --count-reposts / --all-languages settings?"
            )
        index = np.fromiter((position[r] for r in marks), np.int64, len(marks))
        truth = np.fromiter(marks.values(), np.int64, len(marks))
        out[label] = (views[label][0], index, truth)
    return out


def crowd_prevalences(scored: Scored, layout: Layout, crowd: CrowdLabels) -> dict[str, Prevalence]:
    """The labelled-sample estimate of every label the sheet has labels for."""
    return {
        label: labelled_sample(scores, index, truth)
        for label, (scores, index, truth) in _labelled(scored, layout, crowd).items()
    }


def crowd_groups(
    scored: Scored, layout: Layout, crowd: CrowdLabels, groups: np.ndarray
) -> dict[str, list[Prevalence | None]]:
    """Per group (e.g. time window) of the posts, the estimate of every label the sheet
    has labels for (`core.labelled.labelled_groups`)."""
    return {
        label: labelled_groups(scores, index, truth, groups)
        for label, (scores, index, truth) in _labelled(scored, layout, crowd).items()
    }
