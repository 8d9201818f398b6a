"""Without Chromium the browser tests fail and say how to install it; they never skip."""

from __future__ import annotations

import pytest

from tests.browser import conftest


def test_a_missing_chromium_fails_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(conftest, "CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        conftest.chromium_path()


def test_debians_chromium_is_the_one_used():
    assert conftest.chromium_path() == "/usr/bin/chromium"
