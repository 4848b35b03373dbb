import csv
import os
import tempfile
import unittest
from unittest import mock

from app import config
from app.reports import export_report, write_csv


class WriteCsvTest(unittest.TestCase):
    def test_amounts_are_written_in_currency_units(self):
        rows = [{"id": 7, "customer": "Acme GmbH", "amount_cents": 129900, "currency": "EUR",
                 "status": "paid", "created_at": "2026-09-01 10:00:00"}]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "report.csv")
            write_csv(rows, path)
            with open(path, newline="", encoding="utf-8") as fh:
                header, first = list(csv.reader(fh))
        self.assertEqual(header[2], "amount")
        self.assertEqual(first[2], "1299.0")


class ExportReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        for name, value in (("REPORT_DIR", self.tmp.name), ("DATABASE_PATH", ":memory:")):
            patcher = mock.patch.object(config, name, value)
            patcher.start()
            self.addCleanup(patcher.stop)
        db_patch = mock.patch("app.reports.db.query_all", return_value=[])
        db_patch.start()
        self.addCleanup(db_patch.stop)

    def test_rejects_unknown_format(self):
        with self.assertRaises(ValueError):
            export_report("2026-09-01", "2026-09-30", "pdf; touch /tmp/pwned")

    def test_rejects_dates_that_are_not_iso(self):
        with self.assertRaises(ValueError):
            export_report("2026-09-01", "$(id)", "csv")

    def test_converts_with_an_argument_list(self):
        with mock.patch("app.reports.subprocess.run") as run:
            export_report("2026-09-01", "2026-09-30", "pdf")
        argv = run.call_args.args[0]
        self.assertEqual(argv[:4], ["soffice", "--headless", "--convert-to", "pdf"])
        self.assertNotIn("shell", run.call_args.kwargs)


if __name__ == "__main__":
    unittest.main()
