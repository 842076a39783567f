"""What a page or report quotes: the lower bound its statement states."""

import re

# A statement rounds the unrounded bound to 0.1%; stored prevalences keep 4 places, so the
# two can differ by the last rounding of each.
ROUNDING = 0.00051


def assert_quotes_bound(text: str, low: float, tail: str = "") -> None:
    """`text` says "at least X%" (followed by the `tail` pattern), with X the bound `low`."""
    stated = re.search(r"at least (\d+\.\d)%" + tail, text, re.IGNORECASE)
    assert stated, f"no 'at least …%{tail}' statement in the text"
    assert abs(float(stated[1]) / 100 - low) <= ROUNDING, (stated[0], low)
