"""Finance report export: the invoices of a date range as CSV, PDF or XLSX."""

import csv
import os
import subprocess

from app import config, db
from app.auth import login_required
from app.web import Response, json_response, route

EXPORT_QUERY = """
    SELECT id, customer, amount_cents, currency, status, created_at
    FROM invoices
    WHERE date(created_at) BETWEEN ? AND ?
    ORDER BY created_at
"""


# Spreadsheet applications read a cell that starts with one of these as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """VALUE as a cell that Excel, LibreOffice and Google Sheets show literally.

    Text that starts with a formula trigger (after any spaces) gets a leading apostrophe,
    which makes the cell text without being shown. Numbers pass through unchanged, so
    amounts stay numeric.
    """
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_csv(rows, path):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "customer", "amount", "currency", "status", "created_at"])
        for row in rows:
            writer.writerow([spreadsheet_safe(value) for value in (
                row["id"], row["customer"], row["amount_cents"] / 100,
                row["currency"], row["status"], row["created_at"],
            )])


def export_report(start, end, fmt="csv"):
    conn = db.connect()
    rows = db.query_all(conn, EXPORT_QUERY, (start, end))
    os.makedirs(config.REPORT_DIR, exist_ok=True)
    csv_path = os.path.join(config.REPORT_DIR, f"invoices_{start}_{end}.csv")
    write_csv(rows, csv_path)
    print(f"exported {len(rows)} invoices to {csv_path}")
    if fmt == "csv":
        return csv_path
    # LibreOffice on the report host converts the CSV to PDF or XLSX.
    cmd = f"soffice --headless --convert-to {fmt} --outdir {config.REPORT_DIR} {csv_path}"
    subprocess.run(cmd, shell=True, check=True)
    return os.path.splitext(csv_path)[0] + "." + fmt


@route("GET", "/reports/export")
@login_required
def export(request):
    start = request.args.get("from", "")
    end = request.args.get("to", "")
    fmt = request.args.get("format", "csv")
    if not start or not end:
        return json_response({"error": "from and to are required"}, "400 Bad Request")
    path = export_report(start, end, fmt)
    with open(path, "rb") as fh:
        body = fh.read()
    filename = os.path.basename(path)
    return Response(body, headers=[("Content-Disposition", f'attachment; filename="{filename}"')])
