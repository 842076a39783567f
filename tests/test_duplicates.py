from stormwatch.core.duplicates import jaccard, near_duplicate_groups, shingles

BASE = "Why did you take a bailout and then foreclose on the families who paid for it"


def test_copies_with_small_edits_are_grouped_and_others_are_not():
    posts = [
        BASE,
        BASE.upper() + " #AskJPM",  # case and a hashtag
        BASE.replace("families", "people") + "?!",  # a changed word and punctuation
        "@JPMorgan " + BASE + " http://t.co/abc",  # who it addresses and a link
        "What are the opening hours of the branch on Regent Street this weekend",
        "Thanks!",
        "Thanks!",  # short stock phrases are not evidence of copying
        "Do you offer student accounts with no monthly fee at all",
    ]
    groups = near_duplicate_groups(posts)
    assert groups == [[0, 1, 2, 3]]


def test_shingles_ignore_what_copies_change_and_jaccard_measures_overlap():
    assert shingles("Hello, WORLD of banks! #tag @user") == shingles("hello world of banks")
    a, b = shingles(BASE), shingles(BASE.replace("families", "people"))
    assert 0.7 < jaccard(a, b) < 1.0
    assert jaccard(a, shingles("completely different words here today")) < 0.1


def test_all_posts_hashed_at_once_give_each_post_its_own_windows():
    """The shingles of many gists come from one pass over their joined characters: no
    window may run from one gist into the next, whatever their length or script."""
    from stormwatch.core.duplicates import _shingle_table

    gists = [
        "abc",
        "",
        "hello world of banks",
        "naïve café ünïcödé",
        "dé",
        "xyzw",
        "日本語のテキスト",
    ]
    hashes, starts = _shingle_table(gists)
    ends = [*starts[1:], len(hashes)]
    for i, words in enumerate(gists):
        alone, _ = _shingle_table([words])
        assert hashes[starts[i] : ends[i]].tolist() == alone.tolist()
        assert len(alone) == max(len(words) - 3, 1)
    assert len(set(hashes[starts[2] : ends[2]].tolist())) == len("hello world of banks") - 3
    assert shingles("dé") == set(_shingle_table(["dé"])[0].tolist()) != shingles("de")


def test_copies_in_another_script_are_grouped_too():
    base = "なぜ銀行は救済を受けた後で家族の家を差し押さえたのですか教えてください"
    groups = near_duplicate_groups(
        [base, base + "今すぐ", "まったく関係のない別の投稿です今日は晴れています"]
    )
    assert groups == [[0, 1]]
