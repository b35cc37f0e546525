"""Scope.covers_path: an area is covered when it is one of the scope's areas or inside one."""

from hypothesis import given
from hypothesis import strategies as st

from server.accounts.scope import Scope

# Materialised paths as the areas table holds them: '/1/4/9/'. Small ids, so that
# generated scopes and paths share ancestors often.
paths = st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=5).map(
    lambda ids: "/" + "".join(f"{i}/" for i in ids)
)


@given(scope_paths=st.lists(paths, max_size=8), path=paths)
def test_a_path_is_covered_exactly_when_one_of_the_scopes_paths_is_a_prefix_of_it(
    scope_paths: list[str], path: str
) -> None:
    scope = Scope(area_paths=tuple(scope_paths))
    assert scope.covers_path(path) == any(path.startswith(p) for p in scope_paths)


def test_a_sibling_whose_id_starts_with_the_same_digits_is_not_covered() -> None:
    scope = Scope(area_paths=("/1/4/",))
    assert scope.covers_path("/1/4/")
    assert scope.covers_path("/1/4/9/")
    assert not scope.covers_path("/1/45/")
    assert not scope.covers_path("/1/")


def test_everything_covers_any_path_and_an_empty_scope_none() -> None:
    assert Scope(everything=True).covers_path("/7/")
    assert not Scope().covers_path("/7/")
