import xml.etree.ElementTree as ET

import pytest

from stormwatch.charts import lines_with_bands, nice_top, stacked_bars

NS = {"s": "http://www.w3.org/2000/svg"}


def test_nice_top_rounds_up_to_round_numbers():
    assert [nice_top(v) for v in (0, 3, 7, 11, 240, 0.37)] == [1.0, 5, 10, 20, 250, 0.5]


def test_stacked_bars_heights_are_proportional_and_stack():
    svg = stacked_bars(["a", "b"], {"negative": [30, 0], "positive": [10, 20]}, "t")
    root = ET.fromstring(svg)
    rects = root.findall(".//s:g[@class='bars']/s:rect", NS)
    # Zero-valued segments are not drawn.
    assert [r.get("data-series") for r in rects] == ["negative", "positive", "positive"]
    heights = [float(r.get("height")) for r in rects]
    assert heights[0] == pytest.approx(3 * heights[1], abs=0.2)
    assert heights[2] == pytest.approx(2 * heights[1], abs=0.2)
    # The positive segment of bar one sits directly on top of its negative segment.
    assert float(rects[1].get("y")) + heights[1] == pytest.approx(float(rects[0].get("y")), abs=0.2)
    assert svg == stacked_bars(["a", "b"], {"negative": [30, 0], "positive": [10, 20]}, "t")


def test_lines_break_where_a_window_has_no_posts_and_bands_follow():
    svg = lines_with_bands(
        ["1", "2", "3", "4"],
        {"negative": [0.5, None, 0.4, 0.6]},
        "t",
        bands={"negative": ([0.4, None, 0.3, 0.5], [0.6, None, 0.5, 0.7])},
    )
    root = ET.fromstring(svg)
    assert len(root.findall(".//s:polyline", NS)) == 2
    assert len(root.findall(".//s:polygon", NS)) == 2
    assert len(root.findall(".//s:circle", NS)) == 3


def test_titles_are_escaped_by_the_serialiser():
    svg = stacked_bars(["<b>"], {"<script>": [1]}, "</svg><script>alert(1)</script>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)  # still well-formed
