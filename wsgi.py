"""WSGI entry point: `gunicorn wsgi:app`. Configuration comes from the environment."""
from monitor import create_app

app = create_app()
