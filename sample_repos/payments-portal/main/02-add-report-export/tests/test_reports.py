import csv
import os
import tempfile
import unittest

from app.reports import write_csv


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


if __name__ == "__main__":
    unittest.main()
