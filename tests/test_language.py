import numpy as np
import orjson
from click.testing import CliRunner

from stormwatch.cli import main
from stormwatch.core.language import english_mask, is_english


def test_declared_language_wins_and_undetermined_falls_back():
    assert is_english("anything at all", "en-GB")
    assert not is_english("this is plainly english text", "es")
    assert is_english("this is plainly english text", "und")


def test_heuristic_flags_other_languages_and_keeps_english():
    other = [
        "¿Por qué el banco no responde a nuestras preguntas sobre la hipoteca?",
        "Warum antwortet die Bank nicht auf unsere Fragen zur Hypothek?",
        "لماذا لا يجيب البنك على أسئلتنا",
        "なぜ銀行は質問に答えないのですか",
    ]
    english = [
        "Why won't the bank answer our questions about the mortgage?",
        "lol",
        "@user #AskJPM https://t.co/x",
        "Do you regret the bailout",
    ]
    assert not english_mask(other).any()
    assert english_mask(english).all()
    assert english_mask([], []).shape == (0,)


def test_analyze_counts_non_english_and_leaves_them_out_of_shares(tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = [
        {
            "id": "1",
            "text": "Why won't you answer our questions about the bailout?",
            "author_id": "a",
            "edit_history_tweet_ids": ["1"],
            "lang": "en",
        },
        {
            "id": "2",
            "text": "¿Por qué no responde el banco a nuestras preguntas?",
            "author_id": "b",
            "edit_history_tweet_ids": ["2"],
            "lang": "es",
        },
        {
            "id": "3",
            "text": "Warum antwortet die Bank nicht auf unsere Fragen zur Hypothek?",
            "author_id": "c",
            "edit_history_tweet_ids": ["3"],
        },
    ]
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    db = tmp_path / "m.db"
    result = CliRunner().invoke(main, ["analyze", str(path), "--db", str(db), "--json"])
    summary = orjson.loads(result.stdout)
    assert (summary["posts"], summary["non_english"], summary["labelled"]) == (3, 2, 1)
    everything = CliRunner().invoke(
        main, ["analyze", str(path), "--db", str(db), "--json", "--all-languages"]
    )
    assert orjson.loads(everything.stdout)["labelled"] == 3
    exported = [
        orjson.loads(x) for x in CliRunner().invoke(main, ["export", str(db)]).stdout.splitlines()
    ]
    assert [r["english"] for r in exported] == [True, False, False]
    assert all(r["labels"] is not None for r in exported)  # labelled, but flagged
    assert np.isclose(sum(exported[0]["labels"]["sentiment"].values()), 1, atol=1e-3)
