import importlib
import os
import unittest
from unittest import mock

from app import config


class GatewaySettingsTest(unittest.TestCase):
    def tearDown(self):
        importlib.reload(config)

    def test_production_refuses_to_start_without_gateway_settings(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_GATEWAY_")}
        env["PORTAL_ENV"] = "production"
        with mock.patch.dict(os.environ, env, clear=True):
            with self.assertRaises(KeyError):
                importlib.reload(config)

    def test_development_talks_to_the_sandbox(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        with mock.patch.dict(os.environ, env, clear=True):
            importlib.reload(config)
        self.assertEqual(config.PAYMENT_GATEWAY_URL, config.SANDBOX_GATEWAY_URL)
        self.assertEqual(config.GATEWAY_API_KEY, config.SANDBOX_GATEWAY_KEY)


if __name__ == "__main__":
    unittest.main()
