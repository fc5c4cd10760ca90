"""The Arrow streams fakesnow 0.12.1 (the Snowflake test peer) sends, for
tests/unit/test_snowflake_arrow.c.

Regenerate (from the repository root; it starts its own fakesnow server
on a free loopback port and stops it):

    .venv/fakesnow/bin/python tests/unit/data/arrow/gen_fakesnow.py

It logs in, makes a table of every type pfagent reads, inserts a row of
values, a row of nulls and a row of edge values, and saves the bytes of
the SELECT's rowsetBase64 with the response's rowtype, next to the rows
Snowflake's JSON rowset would carry (written out here by hand).
"""
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "..", "fuzz", "corpus", "arrow")

TABLE = """create table t (i int, n number(10,2), n2 number(38,4), f float,
 s varchar, b boolean, d date, tm time, ts timestamp_ntz, tz timestamp_tz,
 ltz timestamp_ltz, bin binary, v variant, o object, a array)"""

INSERTS = [
    "insert into t values (1, 12.5, -3.25, 1.5, 'héllo', true, '2024-01-02',"
    " '12:34:56.789', '2024-01-02 03:04:05.123456',"
    " '2024-01-02 03:04:05.123456+00:00', '2024-01-02 03:04:05',"
    " to_binary('abcd','hex'), parse_json('{\"a\":[1,2]}'),"
    " object_construct('k', 1), array_construct(1,2))",
    "insert into t values (null, null, null, null, null, null, null, null,"
    " null, null, null, null, null, null, null)",
    "insert into t values (-7, -0.5, 1234567890123456789012345678901234.5678,"
    " -2.5e-10, '', false, '1969-12-31', '00:00:00',"
    " '1969-12-31 23:59:59.5', '1960-01-01 00:00:00+00:00',"
    " '1960-06-01 12:00:00', to_binary('','hex'), parse_json('null'),"
    " object_construct(), array_construct())",
]

# The JSON rowset of SELECT * FROM t, by hand: see snowflake/arrow.h.
ROWS = [
    ["1", "12.50", "-3.2500", "1.5", "héllo", "1", "19724",
     "45296.789000000", "1704164645.123456000",
     "1704164645.123456000 1440", "1704164645.000000000 1440", "ABCD",
     '{"a":[1,2]}', '{"k":1}', "[1,2]"],
    [None] * 15,
    ["-7", "-0.50", "1234567890123456789012345678901234.5678", "-2.5e-10",
     "", "0", "-1", "0.000000000", "-0.500000000",
     "-315619200.000000000 1440", "-302443200.000000000 1440", "", "null",
     "{}", "[]"],
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer:
    def __init__(self):
        self.port = free_port()
        exe = os.path.join(os.path.dirname(sys.executable), "fakesnow")
        self.proc = subprocess.Popen([exe, "-s", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        # Its log says when it listens; the rest of it is drained.
        for line in self.proc.stderr:
            if "Uvicorn running" in line:
                break
        else:
            raise SystemExit("fakesnow did not start")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        self.token = self.post("/session/v1/login-request?databaseName=gen"
                               "&schemaName=s1", {"data": {
                                   "SESSION_PARAMETERS": {
                                       "FAKESNOW_DB_PATH": ":isolated:"}}}
                               )["data"]["token"]

    def post(self, path, body):
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f'Snowflake Token="{self.token}"'
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                     data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def query(self, sql):
        r = self.post("/queries/v1/query-request", {"sqlText": sql})
        if not r["success"]:
            raise SystemExit(f"{sql}: {r['message']}")
        return r["data"]

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def save(name, data, rowtype, rows):
    raw = base64.b64decode(data["rowsetBase64"])
    with open(os.path.join(HERE, name + ".arrow"), "wb") as f:
        f.write(raw)
    if raw:
        with open(os.path.join(CORPUS, name + ".arrow"), "wb") as f:
            f.write(raw)
    with open(os.path.join(HERE, name + ".json"), "w", encoding="utf-8") as f:
        json.dump({"rowtype": rowtype, "rows": rows}, f, indent=1,
                  ensure_ascii=False)
        f.write("\n")


def main():
    peer = Peer()
    try:
        for sql in ("create database if not exists gen",
                    "create schema if not exists gen.s1",
                    "use schema gen.s1", TABLE, *INSERTS):
            peer.query(sql)
        data = peer.query("select * from t")
        assert data["queryResultFormat"] == "arrow"
        save("fakesnow_select", data, data["rowtype"], ROWS)
        data = peer.query("select i, s, ts from t where i = 12345")
        save("fakesnow_empty", data, data["rowtype"], [])
    finally:
        peer.close()


if __name__ == "__main__":
    main()
