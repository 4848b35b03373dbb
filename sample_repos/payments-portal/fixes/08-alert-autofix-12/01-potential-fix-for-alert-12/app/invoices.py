"""Invoice search, detail and PDF download endpoints."""

import os

from app import config, db
from app.auth import login_required
from app.web import Response, json_response, route


def _serialize(invoice):
    return {
        "id": invoice["id"],
        "customer": invoice["customer"],
        "amount": invoice["amount_cents"] / 100,
        "currency": invoice["currency"],
        "status": invoice["status"],
        "notes": invoice["notes"],
        "created_at": invoice["created_at"],
    }


def search_invoices(conn, term, status=None):
    sql = "SELECT * FROM invoices WHERE customer LIKE '%%%s%%'" % term
    if status:
        sql += " AND status = '%s'" % status
    sql += " ORDER BY created_at DESC LIMIT 100"
    return db.query_all(conn, sql)


@route("GET", "/invoices/search")
@login_required
def search(request):
    conn = db.connect()
    rows = search_invoices(conn, request.args.get("q", ""), request.args.get("status"))
    return json_response([_serialize(row) for row in rows])


@route("GET", "/invoices/<invoice_id>")
@login_required
def detail(request):
    conn = db.connect()
    invoice = db.query_one(conn, "SELECT * FROM invoices WHERE id = ?", (request.params["invoice_id"],))
    if invoice is None:
        return json_response({"error": "not found"}, "404 Not Found")
    return json_response(_serialize(invoice))


@route("GET", "/invoices/<invoice_id>/pdf")
@login_required
def download_pdf(request):
    # Corrected invoices sit next to the original, e.g. ?file=invoice-42-amended-1.pdf
    filename = request.args.get("file") or f"invoice-{request.params['invoice_id']}.pdf"
    base_dir = os.path.realpath(config.INVOICE_PDF_DIR)
    path = os.path.realpath(os.path.join(base_dir, filename))
    if os.path.commonpath([base_dir, path]) != base_dir:
        return json_response({"error": "invalid file name"}, "400 Bad Request")
    if not os.path.isfile(path):
        return json_response({"error": "not found"}, "404 Not Found")
    with open(path, "rb") as fh:
        body = fh.read()
    return Response(body, headers=[
        ("Content-Type", "application/pdf"),
        ("Content-Disposition", f'inline; filename="{os.path.basename(path)}"'),
    ])
