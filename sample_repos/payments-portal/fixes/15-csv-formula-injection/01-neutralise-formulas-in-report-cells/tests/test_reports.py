import csv
import os
import tempfile
import unittest
from pathlib import Path

from app.reports import spreadsheet_safe, write_csv

PAYLOADS = Path(__file__).parent / "fixtures" / "csv-injection-payloads.txt"


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

    def test_formula_in_customer_name_is_written_as_text(self):
        rows = [{"id": 8, "customer": "=HYPERLINK(\"https://evil.example/\",\"Open\")",
                 "amount_cents": 100, "currency": "EUR", "status": "open",
                 "created_at": "2026-09-02 10:00:00"}]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "report.csv")
            write_csv(rows, path)
            with open(path, newline="", encoding="utf-8") as fh:
                _, first = list(csv.reader(fh))
        self.assertTrue(first[1].startswith("'="))


class SpreadsheetSafeTest(unittest.TestCase):
    def test_known_payloads_are_neutralised(self):
        lines = PAYLOADS.read_text(encoding="utf-8").splitlines()
        payloads = [line for line in lines if line.strip() and not line.startswith("#")]
        self.assertGreater(len(payloads), 400)
        for payload in payloads + ["\t=1+1", "\r=1+1"]:
            with self.subTest(payload=payload):
                self.assertEqual(spreadsheet_safe(payload), "'" + payload)

    def test_plain_values_are_unchanged(self):
        for value in ("Acme GmbH", "O'Brien & Sons", "EUR", "paid", 12.5, -3.0, 42):
            with self.subTest(value=value):
                self.assertEqual(spreadsheet_safe(value), value)


if __name__ == "__main__":
    unittest.main()
