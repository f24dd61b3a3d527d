"""The shape limits of a GraphQL query, checked before it runs."""

from __future__ import annotations

import pytest
from graphql import parse

from regista.server.mlflow_graphql.limits import QueryTooLarge, check_query_shape


def shape(query: str) -> str | None:
    try:
        check_query_shape(parse(query))
    except QueryTooLarge as exc:
        return str(exc)
    return None


def test_ten_root_fields_pass_and_eleven_do_not():
    assert shape("{" + " ".join(f"a{i}: test {{ output }}" for i in range(10)) + "}") is None
    assert shape("{" + " ".join(f"a{i}: x" for i in range(11)) + "}").startswith(
        "GraphQL queries should have at most 10 root fields, got 11 root fields"
    )


def test_aliases_count_per_selection_set_including_the_fragments_spread_into_it():
    inner = " ".join(f"e{i}: experiment {{ name }}" for i in range(6))
    query = f"query {{ q {{ ...A ...B }} }} fragment A on T {{ {inner} }} fragment B on T {{ {inner.replace('e', 'f')} }}"
    assert shape(query) == "GraphQL queries should have at most 10 aliases, got 12 aliases"
    assert shape(f"query {{ q {{ ...A }} r {{ ...A }} }} fragment A on T {{ {inner} }}") is None


def test_depth_is_counted_from_the_operation_and_ten_levels_pass():
    def nested(levels: int) -> str:
        body = "leaf"
        for _ in range(levels - 1):
            body = f"f {{ {body} }}"
        return "{ " + body + " }"

    assert shape(nested(10)) is None
    assert shape(nested(11)) == "Query exceeds maximum depth of 10"


def test_at_most_a_thousand_fields_are_selected_in_all():
    assert shape("{ q { " + " ".join(f"f{i}" for i in range(999)) + " } }") is None
    assert shape("{ q { " + " ".join(f"f{i}" for i in range(1000)) + " } }") == "Query exceeds maximum total selections of 1000"


def test_a_fragment_that_spreads_itself_ends():
    assert shape("query { q { ...A } } fragment A on T { name ...A }") is None


@pytest.mark.parametrize("query", ["{ q { ... on T { a b } } }", "mutation { m(input: {}) { x } }"])
def test_ordinary_queries_pass(query):
    assert shape(query) is None
