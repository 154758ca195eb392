"""gunicorn settings for the bienmoc map server: ``gunicorn -c server/gunicorn.conf.py
server.main:app`` (needs ``pip install gunicorn uvicorn-worker``)."""
import multiprocessing
import os

bind = os.environ.get("BIENMOC_BIND", "127.0.0.1:8000")
# map pages are CPU-bound to build once per data version, then cached per worker
workers = int(os.environ.get("BIENMOC_WORKERS", min(4, multiprocessing.cpu_count())))
worker_class = "uvicorn_worker.UvicornWorker"
timeout = 120
graceful_timeout = 30
keepalive = 5
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
