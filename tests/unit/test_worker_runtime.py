"""Which executor runs a job type: the job-type catalog's, and nothing else."""

from __future__ import annotations

import pytest

from adapters.executors.command import COMMAND
from adapters.job_types import EntryPointJobTypeCatalog
from domain.errors import InvalidInput
from interfaces.worker_runtime import executor_lookup


def test_executors_come_from_the_catalog_one_per_type():
    catalog = EntryPointJobTypeCatalog()
    executor_for = executor_lookup(catalog)
    assert executor_for("command") is executor_for("command") is catalog.executor("command")


def test_a_type_the_catalog_lacks_has_no_executor_even_if_built_in():
    executor_for = executor_lookup(EntryPointJobTypeCatalog([COMMAND]))
    with pytest.raises(InvalidInput) as refused:
        executor_for("python")
    assert refused.value.field == "job_type"


def test_there_is_no_built_in_fallback_beside_the_catalog():
    class NamesOnly:  # a catalog that cannot name executors gets none
        def names(self) -> list[str]:
            return ["command"]

    with pytest.raises(AttributeError):
        executor_lookup(NamesOnly())
