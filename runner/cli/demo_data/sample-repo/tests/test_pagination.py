from inventory.api.pagination import MAX_PAGE_SIZE, paginate, parse_page_params


def test_first_page_starts_at_first_row():
    page = paginate(list(range(10)), page=1, per_page=3)
    assert page.items[0] == 0
    assert page.has_next


def test_per_page_is_capped():
    assert parse_page_params({"per_page": "5000"}) == (1, MAX_PAGE_SIZE)


def test_page_defaults_to_one():
    assert parse_page_params({}) == (1, 50)
