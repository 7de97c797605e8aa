import sqlite3

from inventory.search import highlight, normalize_query, search_items


def make_db():
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT, name TEXT, "
               "warehouse_id INTEGER, quantity INTEGER)")
    db.executemany("INSERT INTO items (sku, name, warehouse_id, quantity) VALUES (?, ?, ?, ?)",
                   [("BLT-M6", "M6 bolt", 1, 120), ("NUT-M6", "M6 nut", 1, 300)])
    return db


def test_search_matches_part_of_the_name():
    assert [row["sku"] for row in search_items(make_db(), "bolt")] == ["BLT-M6"]


def test_normalize_query_trims_and_lowers():
    assert normalize_query("  Bolt ") == "bolt"


def test_highlight_marks_the_match():
    assert highlight("M6 bolt", "bolt") == "M6 <mark>bolt</mark>"
