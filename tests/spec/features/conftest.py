"""The features chapter runs on two code-list folders (issue 9): the packaged starter lists and
the folder `codelists build` makes from the public exports (`built_codelists`, skipped with its
reason where ../shared/reallists is absent). Every rule must give the same answer on both, so the
codes these tests record are ones both folders hold: real codes from the NHS clusters, not
codes only the starter lists know."""

import pytest


@pytest.fixture(scope="session", params=["packaged", "built"])
def codelists(request):
    if request.param == "built":
        return request.getfixturevalue("built_codelists")[1]
    from tests.builders.features import packaged_codelists

    return packaged_codelists()
