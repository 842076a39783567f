from stormwatch.core.text import hashtags_in, html_to_text, mentions_in, stable_id, urls_in


def test_entities_from_plain_text():
    text = "Hey @JPMorgan, answer #AskJPM! see https://example.com/x?y=1 &#38; mail a@b.c"
    assert hashtags_in(text) == ("AskJPM",)
    assert mentions_in(text) == ("JPMorgan",)
    assert urls_in(text) == ("https://example.com/x?y=1",)
    assert hashtags_in("no tags") == () and mentions_in("none") == () and urls_in("no") == ()


def test_html_to_text_drops_script_bodies_and_keeps_structure():
    assert html_to_text("<p>a</p><p>b<br>c</p>") == "a\n\nb\nc"
    assert html_to_text("<p>x<script>alert(1)</script>y</p>") == "xy"
    assert html_to_text("&lt;b&gt; plain &amp; escaped") == "<b> plain & escaped"


def test_stable_id_is_deterministic_and_distinguishing():
    assert stable_id("a.txt", 1, "x") == stable_id("a.txt", 1, "x")
    assert stable_id("a.txt", 1, "x") != stable_id("a.txt", 2, "x")
    assert len(stable_id("anything")) == 20
