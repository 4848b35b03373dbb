import json
import unittest
from unittest import mock

from app import config, health


class HealthTest(unittest.TestCase):
    def test_ok_with_a_working_database(self):
        with mock.patch.object(config, "DATABASE_PATH", ":memory:"):
            response = health.healthz(None)
        self.assertEqual(response.status, "200 OK")
        self.assertEqual(json.loads(response.body)["status"], "ok")

    def test_503_when_the_database_is_unreachable(self):
        with mock.patch.object(config, "DATABASE_PATH", "/nonexistent/dir/portal.sqlite3"):
            response = health.healthz(None)
        self.assertEqual(response.status, "503 Service Unavailable")


if __name__ == "__main__":
    unittest.main()
