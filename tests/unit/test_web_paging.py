"""Numbered pages on the long lists: the summary ("51–100 of 1,234"), which page numbers
are linked, and the addresses of numbered and cursor pages."""

from __future__ import annotations

import pytest

from interfaces.web.auth import PageError
from interfaces.web.paging import Pager, page_of


def test_the_summary_says_which_rows_of_how_many_with_thousands_separated() -> None:
    assert Pager(1, 50, 1234, 50, "/").summary == "1–50 of 1,234"
    assert Pager(2, 50, 1234, 50, "/").summary == "51–100 of 1,234"
    assert Pager(25, 50, 1234, 34, "/").summary == "1,201–1,234 of 1,234"
    assert Pager(1, 50, 0, 0, "/").summary == ""
    assert Pager(9, 50, 3, 0, "/").summary == "none of 3"  # a page past the end


def test_links_name_the_first_the_last_and_the_pages_near_this_one() -> None:
    assert Pager(1, 50, 1234, 50, "/").links() == [1, 2, 3, None, 25]
    assert Pager(12, 50, 1234, 50, "/").links() == [1, None, 10, 11, 12, 13, 14, None, 25]
    assert Pager(4, 50, 1234, 50, "/").links() == [1, 2, 3, 4, 5, 6, None, 25]
    assert Pager(1, 50, 20, 20, "/").links() == [1]
    assert Pager(1, 50, 20, 20, "/").last_page == 1


def test_numbered_pages_keep_the_filter_and_next_follows_the_cursor() -> None:
    pager = Pager(2, 50, 500, 50, "/runs?status=failed", next_cursor="abc_-")
    assert pager.url(1) == "/runs?status=failed"
    assert pager.url(7) == "/runs?status=failed&page=7"
    assert pager.next_url == "/runs?status=failed&cursor=abc_-&page=3"
    assert Pager(1, 50, 500, 50, "/").url(2) == "/?page=2"
    assert Pager(1, 50, 10, 10, "/").next_url is None


def test_a_page_number_is_an_offset_unless_a_cursor_leads_there() -> None:
    assert page_of({}, 50) == (1, 0, None)
    assert page_of({"page": "3"}, 50) == (3, 100, None)
    assert page_of({"page": "3", "cursor": "xyz"}, 50) == (3, 0, "xyz")
    for bad in ("0", "-1", "x", "1.5", "9" * 12):
        with pytest.raises(PageError) as error:
            page_of({"page": bad}, 50)
        assert error.value.status == 400
