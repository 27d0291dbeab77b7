"""Timing of the people-list import: a 10,000-row file, checked (preview) and imported (confirm)
through the office's pages, as CSV and as XLSX, on SQLite and on PostgreSQL.

    .venv/bin/python bench/imports.py                 # SQLite and PostgreSQL, CSV and XLSX
    .venv/bin/python bench/imports.py --engines sqlite --rows 20000

Each engine gets a fresh database (SQLite in a temp dir; PostgreSQL database kiosk_bench_imports
on 127.0.0.1, dropped afterwards) with the models' tables, a street, one community per file
format with a compound and an office user. The file: 10,000 residents in 20 buildings of 5 units,
each in a household of its own, with a valid ID card number and a mobile number each. Both steps
go through the WSGI app in-process (Flask's test client: multipart upload, CSRF, the page's
rendering of every row), so the figures are what the office waits for, less the network. The
script checks that every row was created and prints one line per engine and format.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from werkzeug.datastructures import FileStorage  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

from kiosk import create_app  # noqa: E402
from kiosk.contract.imports import check_digit  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import Community, Compound, Resident, Street, User  # noqa: E402
from kiosk.services import security  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DB = "kiosk_bench_imports"
HEADER = ["楼栋", "单元", "房号", "姓名", "身份证号", "手机号"]
CONFIG = {
    "SECRET_KEY": "bench-secret-key",
    "PASS_KEYS": "B1:bench-pass-key-0123456789abcdef",
    "ID_HASH_KEY": "bench-id-hash-key",
    "RATELIMIT_STORAGE_URI": "memory://",
}


def rows(n: int) -> list[list[str]]:
    out = []
    for i in range(n):
        building, rest = divmod(i, 500)
        first = f"110105{1950 + i // 1000:04d}0101{i % 1000:03d}"
        out.append(
            [
                f"{building + 1}号楼",
                str(rest // 100 + 1),
                str(rest % 100 + 1),
                f"居民{i}",
                first + check_digit(first),
                f"139{i:08d}",
            ]
        )
    return out


def as_csv(data: list[list[str]]) -> bytes:
    lines = [",".join(HEADER), *(",".join(r) for r in data)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def as_xlsx(data: list[list[str]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for r in data:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _pg_admin(sql: str) -> None:
    with psycopg.connect(PG_SERVER + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def setup(app, formats) -> dict[str, tuple[int, str]]:
    """A street, and per format a community with a compound and an office user."""
    with app.app_context():
        db.create_all()
        street = Street(name="基准街道")
        db.session.add(street)
        db.session.flush()
        out = {}
        for fmt in formats:
            community = Community(street_id=street.id, name=f"{fmt}社区")
            db.session.add(community)
            db.session.flush()
            compound = Compound(community_id=community.id, name=f"{fmt}小区")
            office = User(
                username=f"office_{fmt}",
                role="office",
                community_id=community.id,
                password_hash=security.hash_password("bench-password"),
            )
            db.session.add_all([compound, office])
            db.session.flush()
            out[fmt] = (compound.id, office.get_id())
        db.session.commit()
        return out


def post_file(client, path: str, fields: dict, content: bytes, filename: str):
    fields = {**fields, "file": FileStorage(io.BytesIO(content), filename=filename)}
    boundary, body = encode_multipart(fields)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def one_run(app, compound_id: int, user_id: str, content: bytes, filename: str, n: int):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
        session["_auth_method"] = "password"
    page = client.get("/office/import")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    fields = {"csrf_token": csrf, "compound_id": str(compound_id)}
    start = time.perf_counter()
    r = post_file(client, "/office/import", fields, content, filename)
    preview = time.perf_counter() - start
    assert r.status_code == 200, r.status_code
    assert f'data-residents="{n}"' in r.text and 'data-problems="0"' in r.text, r.text[:2000]
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', r.text).group(1)
    page_bytes = len(r.data)
    start = time.perf_counter()
    r = post_file(client, "/office/import/confirm", {**fields, "digest": digest}, content, filename)
    confirm = time.perf_counter() - start
    assert r.status_code == 303, (r.status_code, r.text[:2000])
    with app.app_context():
        count = db.session.scalar(
            select(func.count(Resident.id)).where(Resident.name.like("居民%"))
        )
    return preview, confirm, page_bytes, count


def bench_engine(engine: str, n: int, formats: list[str], tmp: Path) -> list[str]:
    if engine == "postgresql":
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{PG_DB}"')
        url = f"{PG_SERVER}/{PG_DB}"
    else:
        url = f"sqlite:///{tmp / 'imports.sqlite3'}"
    app = create_app({**CONFIG, "DATABASE_URL": url})
    try:
        places = setup(app, formats)
        data = rows(n)
        lines = []
        imported = 0
        for fmt in formats:
            content = as_csv(data) if fmt == "csv" else as_xlsx(data)
            compound_id, user_id = places[fmt]
            preview, confirm, page_bytes, count = one_run(
                app, compound_id, user_id, content, f"people.{fmt}", n
            )
            imported += n
            assert count == imported, (count, imported)
            lines.append(
                f"{engine:10} {fmt:4}  rows {n:,}  file {len(content) / 1024:,.0f} KB  "
                f"preview {preview:.2f} s (page {page_bytes / 1024:,.0f} KB)  "
                f"import {confirm:.2f} s  total {preview + confirm:.2f} s"
            )
            print(lines[-1], flush=True)
        return lines
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if engine == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    p.add_argument("--formats", nargs="+", default=["csv", "xlsx"])
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines:
            bench_engine(engine, args.rows, args.formats, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
