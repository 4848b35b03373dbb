import unittest

from app import auth, config

NOW = 1_790_000_000


class SessionTest(unittest.TestCase):
    def test_round_trip(self):
        cookie = auth.sign_session(42, now=NOW)
        self.assertEqual(auth.load_session(cookie, now=NOW + 60), 42)

    def test_expired(self):
        cookie = auth.sign_session(42, now=NOW)
        self.assertIsNone(auth.load_session(cookie, now=NOW + config.SESSION_TTL_SECONDS + 1))

    def test_tampered(self):
        cookie = auth.sign_session(42, now=NOW)
        self.assertIsNone(auth.load_session("1" + cookie[2:], now=NOW + 60))


class PasswordTest(unittest.TestCase):
    def test_check_password(self):
        user = {"password_hash": auth.hash_password("correct horse")}
        self.assertTrue(auth.check_password(user, "correct horse"))
        self.assertFalse(auth.check_password(user, "battery staple"))


class SafeNextUrlTest(unittest.TestCase):
    def test_keeps_local_paths(self):
        self.assertEqual(auth.safe_next_url("/invoices/42?tab=notes"), "/invoices/42?tab=notes")

    def test_rejects_other_sites(self):
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/",
                       "javascript:alert(1)", "evil.example", "", None):
            with self.subTest(target=target):
                self.assertEqual(auth.safe_next_url(target), "/")


if __name__ == "__main__":
    unittest.main()
