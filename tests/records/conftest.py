"""The learning file's tests build history as the credit bank's do (certified course hours)."""

from tests.credits.conftest import create_course  # noqa: F401  (the fixture, certified hours)
