"""runner.core.jsonstream: the elements of a JSON array, one at a time, in bounded memory."""

from __future__ import annotations

import io
import json
import random
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from runner.core import jsonstream
from runner.core.jsonstream import CHUNK, JSONTextError, LongInteger


def values(text: str, **limits: Any) -> list[Any]:
    return [value for _line, _column, value in jsonstream.array_values(io.StringIO(text), **limits)]


def where(text: str, **limits: Any) -> list[tuple[int, int]]:
    return [(line, column) for line, column, _value in jsonstream.array_values(io.StringIO(text), **limits)]


def error(text: str, **limits: Any) -> JSONTextError:
    with pytest.raises(JSONTextError) as caught:
        values(text, **limits)
    return caught.value


def error_and_peak_memory(path: Path, **limits: Any) -> tuple[JSONTextError, int]:
    """The error reading the array in `path`, and the most memory Python held meanwhile."""
    with path.open(encoding="utf-8") as stream:
        tracemalloc.start()
        try:
            with pytest.raises(JSONTextError) as caught:
                for _ in jsonstream.array_values(stream, **limits):
                    pass
            return caught.value, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_elements_of_every_kind_come_out_as_json_decodes_them() -> None:
    items = [{"a": [1, {"b": None}], "s": 'qu"o\\te ] } [ {'}, [], {}, "text", 12, -3.5, True, None, [[["x"]]]]
    for text in (json.dumps(items), json.dumps(items, indent=2), "\r\n " + json.dumps(items, indent="\t") + " \n"):
        assert values(text) == items


def test_empty_arrays() -> None:
    assert values("[]") == values(" [ \n ] \n") == []


def test_line_and_column_of_each_element() -> None:
    text = '[\n  {"a": 1},\n  2, "x\\ny",\n\n    [3]\n]'
    assert where(text) == [(2, 3), (3, 3), (3, 6), (5, 5)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [5, 6])
def test_elements_cut_by_the_end_of_the_window_anywhere_are_read_whole_and_placed(seed: int) -> None:
    rng = random.Random(seed)
    pieces = [
        '"esc\\"aped \\\\ quote"',
        '"\\u00e9t\\u00e9 \\ud83d\\ude80 ÿ"',
        "123456789",
        "-1.5e+300",
        "true",
        "null",
        "[]",
        '{"k": [1, 2, {"n": "]}"}]}',
        "9" * 50,
        '{"s": "a\\nb"}',
    ]
    parts, starts, line, column = ["["], [], 1, 2
    for n in range(30_000):
        space = rng.choice([" ", "\n", "\n  ", ""]) if n else ""
        line, column = (line + 1, len(space)) if "\n" in space else (line, column + len(space))
        starts.append((line, column))
        element = '"' + "x" * (3 * CHUNK) + '"' if n == 10_000 else rng.choice(pieces)
        parts += [space, element, ","]
        column += len(element) + 1
    text = "".join(parts[:-1]) + "\n]"
    assert len(text) > 10 * CHUNK
    assert values(text) == json.loads(text)
    assert where(text) == starts


def test_integers_of_any_size_and_integers_too_long_to_convert() -> None:
    digits = sys.get_int_max_str_digits() + 1
    assert values(f'[{2**70}, {-(2**64)}, {"1" * digits}, {{"n": -{"2" * digits}}}]') == [
        2**70,
        -(2**64),
        LongInteger(digits),
        {"n": LongInteger(digits, negative=True)},
    ]
    assert jsonstream.loads(f"[{'3' * digits}]") == [LongInteger(digits)]
    assert str(LongInteger(digits)) == f"an integer of {digits} digits"
    assert str(LongInteger(digits, negative=True)) == f"a negative integer of {digits} digits"


def test_lone_surrogate_escapes_are_kept_for_the_caller_to_judge() -> None:
    assert values('["\\ud800", "\\ud83d\\ude80"]') == ["\ud800", "\U0001f680"]


@pytest.mark.parametrize(
    "text, msg, line, column",
    [
        ('[\n {"a": 1},\n {"b": "raw \x01"}]', "Invalid control character", 3, 13),
        ('[{"a": 1} {"b": 2}]', "Expecting ',' delimiter", 1, 11),
        ("[1, 2,]", "Expecting value", 1, 7),
        ("[1,\n ,2]", "Expecting value", 2, 2),
        ('[{"a": 1}]\n x', "Extra data", 2, 2),
        ('[{"a": 1},\n {"b": tru}]', "Expecting value", 2, 8),
        ('[{"a": 1},\n {"b": [1, 2}]', "Expecting ',' delimiter", 2, 13),
        ('[{"a": 1},\n {"b": "never ends}]', "the input ends early", 2, 21),
        ('[{"a": 1},\n', "the input ends early", 2, 1),
        ("[1, 2", "the input ends early", 1, 6),
        ('["a", "b', "Unterminated string starting at", 1, 7),
    ],
)
def test_errors_say_what_and_where(text: str, msg: str, line: int, column: int) -> None:
    caught = error(text)
    assert (caught.msg, caught.line, caught.column) == (msg, line, column)


def test_an_error_far_into_the_input_is_placed_exactly() -> None:
    good = ",\n".join(json.dumps({"number": n, "title": "é" * (n % 7)}) for n in range(5_000))
    caught = error("[" + good + ',\n{"number": 1, "title": "x" "y"}]')
    assert (caught.msg, caught.line, caught.column) == ("Expecting ',' delimiter", 5_001, 28)


def test_nesting_is_bounded_and_brackets_in_strings_do_not_count() -> None:
    assert values("[" + "[" * 8 + "]" * 8 + "]", max_depth=8) == [json.loads("[" * 8 + "]" * 8)]
    assert values('[["[[[[[[[[[[[[", "{{{{{{{{{{{"]]', max_depth=2) == [["[[[[[[[[[[[[", "{{{{{{{{{{{"]]
    caught = error('[1,\n  {"a": [[{"b": []}]]}]', max_depth=4)
    assert (caught.msg, caught.line, caught.column) == ("nested more than 4 levels deep", 2, 17)


def test_too_deep_finds_the_first_bracket_past_the_limit() -> None:
    assert jsonstream.too_deep('{"a": [[1]], "s": "[[[[[[["}', max_depth=3) is None
    assert jsonstream.too_deep('{"a": [[[1]]]}', max_depth=3) == 8
    assert jsonstream.too_deep("[" * 10, max_depth=9) == 9


@pytest.mark.timeout(60)
@pytest.mark.parametrize("depth", [1_000, 20_000, 400_000])
def test_a_deep_element_is_rejected_in_constant_memory(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text('[{"number": 1}, {"x": ' + "[" * depth + "]" * depth + "}]")
    caught, peak = error_and_peak_memory(path)
    assert (caught.msg, caught.line, caught.column) == ("nested more than 64 levels deep", 1, 17 + 6 + 63)
    assert peak < 4 * CHUNK * 4, f"peak {peak / 1e6:.1f} MB"


@pytest.mark.parametrize("tail", ['{"a": 1}, ' * 500_000, '"x' + "y" * 5_000_000], ids=["brackets", "string"])
def test_an_element_that_never_closes_is_held_only_up_to_the_limit(tmp_path: Path, tail: str) -> None:
    path = tmp_path / "unclosed.json"
    path.write_text('[{"number": 1}, {"x": [' + tail)
    caught, peak = error_and_peak_memory(path, max_chars=50_000)
    assert (caught.msg, caught.line, caught.column) == ("an item longer than 50000 characters", 1, 17)
    assert peak < path.stat().st_size / 2, f"peak {peak / 1e6:.1f} MB for a {path.stat().st_size / 1e6:.1f} MB file"


def test_an_element_longer_than_the_limit_is_an_error_even_when_it_closes() -> None:
    assert values('[1, "' + "x" * 990 + '"]', max_chars=1_000) == [1, "x" * 990]
    caught = error('[1, "' + "x" * 1_000 + '"]', max_chars=1_000)
    assert (caught.msg, caught.column) == ("an item longer than 1000 characters", 5)
