"""Limits on the shape of a GraphQL query, checked before it runs: one request cannot fan out into
thousands of REST calls by repeating root fields or aliases, or nesting deeply.

MLflow's server has the same four limits, with these numbers and words (its clients and tests read them):
at most 10 root fields, 10 aliases in one selection set, depth 10 and 1000 selected fields in all.
Fragments count where they are spread: their fields join the selection set that spreads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

MAX_ROOT_FIELDS = 10
MAX_ALIASES = 10
MAX_DEPTH = 10
MAX_SELECTIONS = 1000


class QueryTooLarge(Exception):
    pass


@dataclass
class _Tally:
    root_fields: int = 0
    most_aliases: int = 0
    selections: int = 0


def check_query_shape(document: DocumentNode) -> None:
    """QueryTooLarge (with the message to answer) when a limit is passed."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    tally = _Tally()
    for operation in document.definitions:
        if isinstance(operation, OperationDefinitionNode):
            _walk(operation.selection_set, 1, fragments, tally)
    if tally.root_fields > MAX_ROOT_FIELDS:
        raise QueryTooLarge(
            f"GraphQL queries should have at most {MAX_ROOT_FIELDS} root fields, got {tally.root_fields} root fields"
        )
    if tally.most_aliases > MAX_ALIASES:
        raise QueryTooLarge(
            f"GraphQL queries should have at most {MAX_ALIASES} aliases, got {tally.most_aliases} aliases"
        )


def _walk(selections: SelectionSetNode, depth: int, fragments: dict[str, FragmentDefinitionNode], tally: _Tally) -> None:
    if depth > MAX_DEPTH:
        raise QueryTooLarge(f"Query exceeds maximum depth of {MAX_DEPTH}")
    fields = _fields_of(selections, fragments, frozenset())
    tally.most_aliases = max(tally.most_aliases, sum(1 for field in fields if field.alias))
    for field in fields:
        tally.selections += 1
        if tally.selections > MAX_SELECTIONS:
            raise QueryTooLarge(f"Query exceeds maximum total selections of {MAX_SELECTIONS}")
        if depth == 1:
            tally.root_fields += 1
        if field.selection_set:
            _walk(field.selection_set, depth + 1, fragments, tally)


def _fields_of(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], spread: frozenset[str]
) -> list[FieldNode]:
    """The fields of one selection set, with those of its inline fragments and spread fragments (each
    fragment once per path, so a fragment spreading itself ends)."""
    fields: list[FieldNode] = []
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            fields.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            fields += _fields_of(selection.selection_set, fragments, spread)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in spread:
                fields += _fields_of(fragment.selection_set, fragments, spread | {name})
    return fields
