"""Diagnosis search over the real ICD-10-CM catalogue: the usual codes come first, without a hand-made list of
favourites (general codes before specific ones, whole words before prefixes, the hospital's own habits)."""

from __future__ import annotations

import time

import pytest

from data.catalog import Catalogue, CodeIndex


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()  # indexed once for the module (about a second)


def codes(catalogue: Catalogue, query: str, limit: int = 9, used: dict[str, int] | None = None) -> list[str]:
    return [e.code for e in catalogue.search_diagnoses(query, limit, used)]


def test_essential_hypertension_is_among_the_first_three_for_hypertension(catalogue) -> None:
    assert "I10" in codes(catalogue, "hypertension")[:3]


def test_a_type_2_diabetes_code_is_among_the_first_five_for_diabetes(catalogue) -> None:
    first = codes(catalogue, "diabetes")[:5]
    assert any(code.startswith("E11") for code in first), first
    assert "E23.2" not in first[:1]  # diabetes insipidus no longer leads


@pytest.mark.parametrize("query", ["type 2 diabetes", "diab type 2", "Type 2 Diabetes"])
def test_the_unspecified_type_2_diabetes_code_is_among_the_first_three(catalogue, query) -> None:
    assert "E11.9" in codes(catalogue, query)[:3]


@pytest.mark.parametrize("query", ["E11.9", "e119", " e11.9 "])
def test_a_code_typed_finds_that_code_first(catalogue, query) -> None:
    assert codes(catalogue, query)[0] == "E11.9"


def test_a_general_code_comes_before_its_specific_forms(catalogue) -> None:
    first = codes(catalogue, "headache", 3)
    assert first[0] == "R51.9"  # Headache, unspecified
    assert codes(catalogue, "iron deficiency anemia", 1) == ["D50.9"]


def test_codes_this_hospital_already_uses_rank_higher(catalogue) -> None:
    without = codes(catalogue, "hypertension")
    assert without[0] != "K76.6"
    assert codes(catalogue, "hypertension", used={"K76.6": 40})[0] == "K76.6"
    assert codes(catalogue, "hypertension", used={"NOT-A-CODE": 5}) == without


def test_whole_words_rank_before_words_that_only_start_like_the_query() -> None:
    index = CodeIndex([("A01", "Painful shoulder"), ("A02", "Pain of the left shoulder")])
    assert [e.code for e in index.search("pain shoulder")] == ["A02", "A01"]


def test_a_word_in_another_form_than_the_title_still_finds_it(catalogue) -> None:
    index = CodeIndex([("S93.4", "Sprain of ankle"), ("S06", "Intracranial injury"), ("J45", "Asthma")])
    assert [e.code for e in index.search("sprained ankle")] == ["S93.4"]
    assert [e.code for e in index.search("injuries")] == ["S06"]
    assert index.search("gas") == []  # short words keep their ending
    first = catalogue.search_diagnoses("sprained ankle", 3)
    assert first and all(e.code.startswith("S93.") for e in first)


def test_an_injurys_initial_encounter_comes_before_its_later_visits_and_sequela(catalogue) -> None:
    for query in ("sprained ankle", "fracture femur", "injury of head"):
        first = catalogue.search_diagnoses(query, 1)[0]
        assert first.code.endswith("A") and "initial encounter" in first.name, (query, first)


def test_every_word_must_match_and_nothing_typed_finds_nothing(catalogue) -> None:
    assert codes(catalogue, "diabetes zzzqqq") == []
    assert codes(catalogue, "  ") == []


def test_searches_stay_fast(catalogue) -> None:
    queries = ["diabetes", "hypertension", "fracture femur left", "pain", "ac", "E11", "type 2 diabetes"]
    catalogue.search_diagnoses("warm up", 20)
    start = time.perf_counter()
    for _ in range(5):
        for query in queries:
            catalogue.search_diagnoses(query, 20)
    per_search = (time.perf_counter() - start) / (5 * len(queries))
    assert per_search < 0.25, f"{per_search * 1000:.0f} ms per search"
