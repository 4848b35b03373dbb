import hashlib
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

    def test_hashes_are_salted_pbkdf2(self):
        first, second = auth.hash_password("correct horse"), auth.hash_password("correct horse")
        self.assertTrue(first.startswith("pbkdf2_sha256$600000$"))
        self.assertNotEqual(first, second)

    def test_legacy_md5_hashes_still_verify(self):
        user = {"password_hash": hashlib.md5(b"correct horse").hexdigest()}
        self.assertTrue(auth.is_legacy_hash(user["password_hash"]))
        self.assertTrue(auth.check_password(user, "correct horse"))
        self.assertFalse(auth.check_password(user, "battery staple"))


if __name__ == "__main__":
    unittest.main()
