"""gunicorn entry point: `gunicorn weixiu.wsgi:app` (production reads WEIXIU_ENV=production)."""

from weixiu.app import create_app

app = create_app()
