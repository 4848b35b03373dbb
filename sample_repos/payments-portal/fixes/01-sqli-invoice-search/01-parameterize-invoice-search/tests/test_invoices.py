import unittest

from app import db
from app.invoices import search_invoices


class SearchInvoicesTest(unittest.TestCase):
    def setUp(self):
        self.conn = db.connect(":memory:")
        db.init_schema(self.conn)
        self.conn.executemany(
            "INSERT INTO invoices (customer, amount_cents, status) VALUES (?, ?, ?)",
            [
                ("Acme GmbH", 129900, "open"),
                ("Globex Ltd", 4500, "paid"),
                ("Acme Logistics", 20000, "paid"),
            ],
        )

    def test_search_by_customer(self):
        rows = search_invoices(self.conn, "Acme")
        self.assertEqual({row["customer"] for row in rows}, {"Acme GmbH", "Acme Logistics"})

    def test_search_filters_status(self):
        rows = search_invoices(self.conn, "Acme", status="paid")
        self.assertEqual([row["customer"] for row in rows], ["Acme Logistics"])

    def test_empty_term_matches_everything(self):
        self.assertEqual(len(search_invoices(self.conn, "")), 3)

    def test_quote_in_term_is_treated_as_data(self):
        self.assertEqual(search_invoices(self.conn, "' OR '1'='1"), [])

    def test_status_cannot_widen_the_query(self):
        rows = search_invoices(self.conn, "Globex", status="x' OR '1'='1")
        self.assertEqual(rows, [])


if __name__ == "__main__":
    unittest.main()
