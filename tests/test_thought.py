"""Thought: construction and the validation of each field on its own."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import seqthink
from seqthink import Thought, ThoughtResult
from seqthink.errors import InvalidThoughtError, SeqthinkError

MAX = seqthink.MAX_NUMBER

INT_FIELDS = ("thought_number", "total_thoughts", "revises_thought", "branch_from_thought")
REQUIRED_INT_FIELDS = ("thought_number", "total_thoughts")
OPTIONAL_INT_FIELDS = ("revises_thought", "branch_from_thought")
BOOL_FIELDS = ("next_thought_needed", "is_revision", "needs_more_thoughts")
OPTIONAL_BOOL_FIELDS = ("is_revision", "needs_more_thoughts")
OPTIONAL_FIELDS = (*OPTIONAL_INT_FIELDS, *OPTIONAL_BOOL_FIELDS, "branch_id")

VALID: dict[str, Any] = {
    "thought": "Restate the problem.",
    "thought_number": 1,
    "total_thoughts": 3,
    "next_thought_needed": True,
}


def make(**overrides: Any) -> Thought:
    """A Thought from valid required fields, with ``overrides`` applied."""
    return Thought(**{**VALID, **overrides})


def rejected(field: str, value: object) -> InvalidThoughtError:
    """Construct a Thought with ``field=value``; return the error it must raise."""
    with pytest.raises(InvalidThoughtError) as info:
        make(**{field: value})
    return info.value


def assert_names(error: InvalidThoughtError, field: str, value: object) -> None:
    """The error names ``field`` and carries exactly the ``value`` given."""
    assert field == error.field
    assert error.value is value
    assert field in str(error)


# --- accepted values -----------------------------------------------------------


def test_optionals_default_to_none() -> None:
    """A thought given only the four required fields has every optional set to None."""
    thought = make()

    assert dict.fromkeys(OPTIONAL_FIELDS) == {name: getattr(thought, name) for name in OPTIONAL_FIELDS}


def test_all_fields_are_kept_as_given() -> None:
    """Every field of a fully specified thought reads back as given."""
    fields: dict[str, Any] = {
        "thought": "Alternative: 24 * 15 = 24 * 10 + 24 * 5",
        "thought_number": 3,
        "total_thoughts": 5,
        "next_thought_needed": False,
        "is_revision": True,
        "revises_thought": 2,
        "branch_from_thought": 1,
        "branch_id": "alt",
        "needs_more_thoughts": False,
    }

    assert fields == attrs.asdict(Thought(**fields))


def test_optionals_may_be_none_explicitly() -> None:
    """Passing None for every optional is the same as leaving them out."""
    assert make() == make(**dict.fromkeys(OPTIONAL_FIELDS))


@pytest.mark.parametrize("field", INT_FIELDS)
@pytest.mark.parametrize("value", [1, 2, MAX - 1, MAX])
def test_numbers_at_the_bounds_are_accepted(field: str, value: int) -> None:
    """1 and MAX_NUMBER (2**32 - 1, the seed's u32 range) are valid for every number field."""
    assert value == getattr(make(**{field: value}), field)


def test_max_number_is_u32_max() -> None:
    """MAX_NUMBER is the largest value the seed's u32 fields hold."""
    assert 2**32 - 1 == seqthink.MAX_NUMBER


@pytest.mark.parametrize("field", BOOL_FIELDS)
@pytest.mark.parametrize("value", [True, False])
def test_bools_are_accepted(field: str, value: bool) -> None:
    """True and False are valid for every boolean field."""
    assert value is getattr(make(**{field: value}), field)


@pytest.mark.parametrize(
    "text",
    ["x", " x ", "Überlegung: 15 \u00d7 24 ✓", "🧠", "line one\nline two", "\x00 nul is text", "日本語"],
)
def test_any_text_with_a_visible_character_is_accepted(text: str) -> None:
    """Text with something other than white space is kept exactly, untrimmed."""
    assert text == make(thought=text).thought


@pytest.mark.parametrize("branch_id", ["alt", "a", "x" * 256, "with space", "a.b", "日本語", "../up", "🧠"])
def test_branch_ids_are_accepted(branch_id: str) -> None:
    """Branch ids of 1 to 256 printable characters are valid, whatever the characters."""
    assert branch_id == make(branch_id=branch_id).branch_id


def test_thought_is_frozen() -> None:
    """A Thought cannot be changed after construction."""
    thought = make()

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        thought.thought_number = 2  # type: ignore[misc]

    assert 1 == thought.thought_number


def test_thoughts_compare_by_value() -> None:
    """Two thoughts with the same fields are equal and hash alike; a different field makes them differ."""
    assert make() == make()
    assert hash(make()) == hash(make())
    assert make() != make(is_revision=False)


# --- rejected values -----------------------------------------------------------


@pytest.mark.parametrize("field", INT_FIELDS)
@pytest.mark.parametrize("value", [True, False, "3", "1", 1.0, 3.0, 2.5, b"1", [1]])
def test_numbers_of_the_wrong_type_are_rejected(field: str, value: object) -> None:
    """A bool, a string, a float or anything else that is not an int is not a number."""
    assert_names(rejected(field, value), field, value)


@pytest.mark.parametrize("field", REQUIRED_INT_FIELDS)
def test_required_numbers_may_not_be_none(field: str) -> None:
    """thought_number and total_thoughts are required: None is rejected."""
    assert_names(rejected(field, None), field, None)


@pytest.mark.parametrize("field", INT_FIELDS)
@pytest.mark.parametrize("value", [0, -1, -(2**40), MAX + 1, 2**64, 10**100])
def test_numbers_out_of_range_are_rejected(field: str, value: int) -> None:
    """Numbers below 1 or above MAX_NUMBER are rejected, naming the field and the value."""
    assert_names(rejected(field, value), field, value)


@pytest.mark.parametrize("field", BOOL_FIELDS)
@pytest.mark.parametrize("value", ["true", "false", 1, 0, 1.0, "", [True]])
def test_bools_of_the_wrong_type_are_rejected(field: str, value: object) -> None:
    """A string, an int (even 1 or 0) or anything else that is not a bool is rejected."""
    assert_names(rejected(field, value), field, value)


def test_next_thought_needed_may_not_be_none() -> None:
    """next_thought_needed is required: None is rejected."""
    assert_names(rejected("next_thought_needed", None), "next_thought_needed", None)


@pytest.mark.parametrize("text", ["", " ", "\t\n", "\r\n  \f\v", "\u3000", "\u00a0\u2003"])
def test_empty_or_blank_text_is_rejected(text: str) -> None:
    """Empty text and text of only white space (Unicode white space too) is rejected."""
    assert_names(rejected("thought", text), "thought", text)


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "ok \udc80", "\ud83e tail"])
def test_text_that_cannot_be_utf8_is_rejected(text: str) -> None:
    """Text holding a lone surrogate cannot be written as UTF-8 and is rejected."""
    assert_names(rejected("thought", text), "thought", text)


@pytest.mark.parametrize("text", [None, 5, b"bytes", ["a"]])
def test_text_that_is_not_a_string_is_rejected(text: object) -> None:
    """The thought must be a str."""
    assert_names(rejected("thought", text), "thought", text)


@pytest.mark.parametrize(
    "branch_id",
    [
        "",
        "x" * 257,
        "y" * 1000,
        "a\x00b",
        "a\nb",
        "tab\there",
        "\x1f",
        "del\x7f",
        "c1\x85",
        "\x9f",
        "\ud800",
        "alt\udfff",
        5,
        b"alt",
        ["alt"],
    ],
)
def test_bad_branch_ids_are_rejected(branch_id: object) -> None:
    """Empty ids, ids over 256 characters, control characters, lone surrogates and non-strings."""
    assert_names(rejected("branch_id", branch_id), "branch_id", branch_id)


def test_errors_are_value_errors_and_seqthink_errors() -> None:
    """InvalidThoughtError can be caught as ValueError or as SeqthinkError."""
    error = rejected("thought_number", 0)

    assert isinstance(error, ValueError)
    assert isinstance(error, SeqthinkError)


def test_long_values_are_shortened_in_the_message_but_kept_in_value() -> None:
    """A huge rejected value keeps the message short but is kept whole in .value."""
    value = "z" * 10_000
    error = rejected("branch_id", value)

    assert error.value is value
    assert len(str(error)) < 500


# --- properties ----------------------------------------------------------------

numbers = st.integers(min_value=1, max_value=MAX)
texts = st.text(min_size=1, max_size=50).filter(lambda s: s.strip() != "")
branch_ids = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs")),
    min_size=1,
    max_size=256,
)
valid_fields = st.fixed_dictionaries(
    {
        "thought": texts,
        "thought_number": numbers,
        "total_thoughts": numbers,
        "next_thought_needed": st.booleans(),
        "is_revision": st.none() | st.booleans(),
        "revises_thought": st.none() | numbers,
        "branch_from_thought": st.none() | numbers,
        "branch_id": st.none() | branch_ids,
        "needs_more_thoughts": st.none() | st.booleans(),
    }
)
not_an_int = st.one_of(
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.integers().map(str),
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=2),
)
bad_ints = st.one_of(st.integers(max_value=0), st.integers(min_value=MAX + 1), not_an_int)
bad_bools = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.sampled_from(["true", "false", "True", "1", "0", ""]),
    st.text(max_size=5),
    st.lists(st.booleans(), max_size=2),
)


@settings(max_examples=200)
@given(fields=valid_fields)
def test_any_valid_combination_constructs_and_round_trips(fields: dict[str, Any]) -> None:
    """Any combination of valid field values constructs a Thought holding exactly those values."""
    thought = Thought(**fields)

    assert fields == attrs.asdict(thought)
    assert thought == Thought(**attrs.asdict(thought))


@settings(max_examples=200)
@given(fields=valid_fields, field=st.sampled_from(INT_FIELDS), value=bad_ints)
def test_any_invalid_number_is_rejected_with_its_field(
    fields: dict[str, Any], field: str, value: object
) -> None:
    """Whatever the other (valid) fields hold, an invalid number names its own field and value."""
    with pytest.raises(InvalidThoughtError) as info:
        Thought(**{**fields, field: value})

    assert_names(info.value, field, value)


@settings(max_examples=200)
@given(fields=valid_fields, field=st.sampled_from(BOOL_FIELDS), value=bad_bools)
def test_any_invalid_bool_is_rejected_with_its_field(
    fields: dict[str, Any], field: str, value: object
) -> None:
    """Whatever the other (valid) fields hold, an invalid bool names its own field and value."""
    with pytest.raises(InvalidThoughtError) as info:
        Thought(**{**fields, field: value})

    assert_names(info.value, field, value)


@settings(max_examples=100)
@given(
    fields=valid_fields,
    value=st.one_of(
        st.just(""),
        st.text(min_size=257, max_size=300),
        st.tuples(st.text(max_size=5), st.characters(categories=("Cc", "Cs")), st.text(max_size=5)).map(
            "".join
        ),
    ),
)
def test_any_invalid_branch_id_is_rejected(fields: dict[str, Any], value: str) -> None:
    """Empty, over-long, or control/surrogate-holding branch ids are rejected, naming branch_id."""
    with pytest.raises(InvalidThoughtError) as info:
        Thought(**{**fields, "branch_id": value})

    assert_names(info.value, "branch_id", value)


# --- ThoughtResult -------------------------------------------------------------


def test_thought_result_defaults_to_no_warnings() -> None:
    """A ThoughtResult built without warnings has an empty tuple of them."""
    result = ThoughtResult(
        thought_number=1, total_thoughts=1, next_thought_needed=True, branches=(), thought_history_length=1
    )

    assert () == result.warnings
