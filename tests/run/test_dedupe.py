"""runner.run.dedupe: possible duplicates within a batch, by shared title words, in bounded memory."""

from __future__ import annotations

from runner.run.dedupe import COMMON_WORD_HOLDERS, DuplicateFinder, title_words

LOGIN_A = "Login fails with expired session cookie"
LOGIN_B = "Login fails when session cookie expired"


def test_near_duplicate_titles_are_found() -> None:
    finder = DuplicateFinder()
    assert finder.check(101, LOGIN_A) == ()
    assert finder.check(102, LOGIN_B) == (101,)


def test_unrelated_titles_are_not_duplicates() -> None:
    finder = DuplicateFinder()
    finder.check(1, LOGIN_A)
    assert finder.check(2, "Export to CSV drops the last row") == ()
    assert finder.check(3, "Dark mode for the settings page") == ()
    assert finder.check(4, "Login page shows wrong logo") == ()


def test_title_words_ignore_case_stopwords_and_simple_suffixes() -> None:
    assert title_words(LOGIN_A) == title_words(LOGIN_B)
    assert title_words("The Crashes of a Widget") == title_words("crash widget")
    assert title_words("a an the of to") == frozenset()


def test_matches_are_most_similar_first_and_limited() -> None:
    finder = DuplicateFinder(threshold=0.3, limit=2)
    finder.check(1, "export csv file broken")
    finder.check(2, "export csv file broken badly today")
    finder.check(3, "export csv file broken badly")
    assert finder.check(4, "export csv file broken badly") == (3, 2)


def test_titles_with_fewer_than_two_words_are_never_matched() -> None:
    finder = DuplicateFinder()
    finder.check(1, "Crash")
    assert finder.check(2, "Crash") == ()
    assert finder.check(3, "the crash") == ()


def test_an_issue_is_not_its_own_duplicate_when_seen_again() -> None:
    finder = DuplicateFinder()
    finder.check(5, LOGIN_A)
    assert finder.check(5, LOGIN_A) == ()
    assert finder.check(6, LOGIN_B) == (5,)


def test_retitled_issue_is_matched_by_its_new_title_only() -> None:
    finder = DuplicateFinder()
    finder.check(5, LOGIN_A)
    finder.check(5, "Export to CSV drops the last row")
    assert finder.check(6, LOGIN_B) == ()
    assert finder.check(7, "Export to CSV drops last rows") == (5,)


def test_window_forgets_old_titles() -> None:
    finder = DuplicateFinder(window=3)
    finder.check(1, LOGIN_A)
    finder.check(2, "Export to CSV drops the last row")
    finder.check(3, "Dark mode for the settings page")
    finder.check(4, "Search ignores accents in names")
    assert finder.check(5, LOGIN_B) == ()


def test_window_remembers_recent_titles() -> None:
    finder = DuplicateFinder(window=3)
    finder.check(1, LOGIN_A)
    finder.check(2, "Export to CSV drops the last row")
    finder.check(3, "Dark mode for the settings page")
    assert finder.check(4, LOGIN_B) == (1,)


def test_memory_stays_bounded_by_the_window() -> None:
    finder = DuplicateFinder(window=50)
    for n in range(1, 2001):
        finder.check(n, f"unique{n} word{n} thing{n}")
    assert len(finder._words) <= 50
    assert sum(len(holders) for holders in finder._by_word.values()) <= 50 * 3


def test_rare_words_still_match_when_a_word_is_very_common() -> None:
    finder = DuplicateFinder()
    for n in range(1, COMMON_WORD_HOLDERS + 3):
        finder.check(n, f"crash report{n}")
    finder.check(5000, "crash zebra giraffe")
    assert finder.check(5001, "Crash: zebra giraffe") == (5000,)
