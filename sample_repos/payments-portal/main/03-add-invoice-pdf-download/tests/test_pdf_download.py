import os
import tempfile
import unittest
from unittest import mock

from app import config, invoices


class FakeRequest:
    def __init__(self, invoice_id, args=None):
        self.params = {"invoice_id": invoice_id}
        self.args = args or {}


class DownloadPdfTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        with open(os.path.join(self.tmp.name, "invoice-42.pdf"), "wb") as fh:
            fh.write(b"%PDF-1.4 test")
        patcher = mock.patch.object(config, "INVOICE_PDF_DIR", self.tmp.name)
        patcher.start()
        self.addCleanup(patcher.stop)

    def call(self, request):
        # Skip the login_required wrapper: call the undecorated view.
        return invoices.download_pdf.__wrapped__(request)

    def test_serves_the_invoice_pdf(self):
        response = self.call(FakeRequest("42"))
        self.assertEqual(response.body, b"%PDF-1.4 test")

    def test_missing_pdf_is_404(self):
        self.assertEqual(self.call(FakeRequest("43")).status, "404 Not Found")


if __name__ == "__main__":
    unittest.main()
