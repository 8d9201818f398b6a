"""The jobs page's filter as a URL, and the folder tree built from folder counts."""

from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from domain.errors import InvalidInput
from interfaces.web.job_filters import JobFilter, folder_tree
from projections.jobs import JobQuery


def test_a_filter_round_trips_through_its_url():
    query = (
        "q=sync&folder=Customers/Contoso&tag=billing&tag=eu&status=failed&enabled=true"
        "&type=powershell&sort=last_run"
    )
    wanted = JobFilter.from_query(QueryParams(query))
    assert wanted.query() == JobQuery(
        search="sync",
        folder="Customers/Contoso",
        tags=("billing", "eu"),
        status="failed",
        enabled=True,
        job_type="powershell",
    )
    assert wanted.sort == "last_run"
    again = JobFilter.from_query(QueryParams(wanted.url().removeprefix("/jobs?")))
    assert again == wanted
    assert wanted.with_tag_toggled("eu").count("tag=") == 1
    assert wanted.with_tag_toggled("new").count("tag=") == 3
    assert JobFilter().url() == "/jobs" and not JobFilter().active
    assert JobFilter(sort="last_run").url() == "/jobs?sort=last_run"
    assert JobFilter().url(cursor="abc") == "/jobs?cursor=abc"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("folder=a//b", "folder"),
        ("tag=a%20b", "tags[0]"),
        ("status=sleepy", "status"),
        ("enabled=maybe", "enabled"),
        ("sort=colour", "sort"),
        ("type=Bad%20Type", "job_type"),
        ("q=a%00b", "q"),
    ],
)
def test_a_bad_filter_names_its_parameter(query, field):
    with pytest.raises(InvalidInput) as refused:
        JobFilter.from_query(QueryParams(query))
    assert refused.value.field == field


def test_the_folder_tree_nests_folders_and_counts_jobs_in_and_below_each():
    tree = folder_tree(
        {"": 4, "Customers/Contoso": 2, "Customers/Contoso/EU": 1, "customers": 1, "Internal": 3}
    )
    assert [(n.name, n.path, n.count) for n in tree] == [
        ("Customers", "Customers", 3),
        ("customers", "customers", 1),
        ("Internal", "Internal", 3),
    ]
    (contoso,) = tree[0].children
    assert (contoso.path, contoso.count) == ("Customers/Contoso", 3)
    assert [(n.name, n.count) for n in contoso.children] == [("EU", 1)]
    assert folder_tree({"": 2}) == []
