from batpay.tests.api_world import world  # noqa: F401 (the fixture of the tests that walk every route)
