"""newsbot tests (a package, so helpers import as ``tests.feedserver``)."""
