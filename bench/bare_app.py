"""The yardstick for bench/scan.py: a bare Flask app with one route answering a 1 KB string."""

from flask import Flask

BODY = ("kiosk bare yardstick " * 52)[:1024]

app = Flask(__name__)


@app.get("/")
def index():
    return BODY
