"""The public surface never grows or shrinks by accident."""

import servey_faas


def test_all_is_exactly_the_public_names() -> None:
    public = {name for name in dir(servey_faas) if not name.startswith("_")}
    submodules = {name for name in public if type(getattr(servey_faas, name)).__name__ == "module"}
    assert set(servey_faas.__all__) == public - submodules


def _isort_style(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted() -> None:
    assert servey_faas.__all__ == sorted(servey_faas.__all__, key=_isort_style)


def test_fixed_names_of_the_design_are_exported() -> None:
    fixed = {
        "action", "Action", "get_action", "Example", "WebTrigger", "WEB_GET", "WEB_POST", "WEB_PUT",
        "WEB_PATCH", "WEB_DELETE", "FixedRateTrigger", "CronTrigger", "ServeyFaasError", "TtlCacheControl",
        "ETagCacheControl", "ScopeAccessControl", "ALLOW_ALL", "ALLOW_NONE", "Authorization",
    }  # fmt: skip
    assert fixed <= set(servey_faas.__all__)
