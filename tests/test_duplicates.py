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
