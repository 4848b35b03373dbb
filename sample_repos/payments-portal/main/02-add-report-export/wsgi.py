"""WSGI entry point: gunicorn wsgi:application"""

from app import auth, invoices, reports, web  # noqa: F401  (importing a module registers its routes)

application = web.application
