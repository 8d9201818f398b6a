"""The `http` job type's placeholders: values by name, encoded where structure matters."""

from __future__ import annotations

import pytest

from adapters.executors.templates import Values, render_body, render_text, render_url
from domain.errors import InvalidInput

VALUES = Values({"tenant": "acme corp/eu", "limit": 50, "ids": [1, 2], "base": "https://x.io/v2"},
                {"API_KEY": "k&y=1"})  # fmt: skip


def test_url_values_are_percent_encoded_so_they_cannot_change_its_structure():
    url = render_url("https://psa.example/{{parameters.tenant}}?key={{secrets.API_KEY}}", VALUES)
    assert url == "https://psa.example/acme%20corp%2Feu?key=k%26y%3D1"


def test_raw_inserts_a_base_url_as_written():
    assert render_url("{{parameters.base|raw}}/tickets", VALUES) == "https://x.io/v2/tickets"


def test_text_placeholders_allow_spaces_and_render_json_for_non_strings():
    text = render_text("n={{ parameters.limit }} ids={{parameters.ids}}", VALUES, "f")
    assert text == "n=50 ids=[1, 2]"


def test_a_json_body_keeps_types_where_a_string_is_one_placeholder():
    body = {"limit": "{{parameters.limit}}", "note": "for {{parameters.tenant}}", "n": [1, None]}
    assert render_body(body, VALUES) == {"limit": 50, "note": "for acme corp/eu", "n": [1, None]}


def test_a_string_body_stays_text():
    assert render_body("{{parameters.limit}}", VALUES) == "50"


def test_nothing_is_evaluated():
    """Names are looked up in a dict, never as attributes; anything else stays text."""
    template = "{{ 1+1 }} {{parameters.tenant.upper}} {{os.environ}}"
    assert render_text(template, VALUES, "f") == template
    with pytest.raises(InvalidInput):
        render_text("{{parameters.__class__}}", VALUES, "f")


@pytest.mark.parametrize(
    ("template", "field", "message"),
    [
        ("{{parameters.nope}}", "program.url", "{{parameters.nope}} names no parameter"),
        ("{{secrets.NOPE}}", "program.url", "{{secrets.NOPE}} names no secret"),
    ],
)
def test_an_unknown_name_is_refused_naming_the_placeholder_not_a_value(template, field, message):
    with pytest.raises(InvalidInput) as refused:
        render_url(template, VALUES)
    assert refused.value.field == field
    assert message in str(refused.value)
    assert "k&y=1" not in str(refused.value)


def test_a_body_error_names_the_path_inside_the_body():
    with pytest.raises(InvalidInput) as refused:
        render_body({"items": [{"id": "{{parameters.missing}}"}]}, VALUES)
    assert refused.value.field == "program.body.items.0.id"
