"""Arrow IPC streams for tests/unit/test_snowflake_arrow.c, made by pyarrow.

Regenerate (from the repository root):

    .venv/bin/python tests/unit/data/arrow/gen.py

Each case writes NAME.arrow (the stream) and NAME.json: {"rowtype": the
response's data.rowtype or null, "rows": the JSON rowset Snowflake would
send} or {"rowtype": ..., "error": a part of the message}. The expected
texts are made here in Python (Decimal, repr, datetime), independently
of the C code they test. Every stream also goes to the fuzz corpus,
tests/fuzz/corpus/arrow/. The streams fakesnow itself sends come from
gen_fakesnow.py.
"""
import datetime
import json
import os
import random
import struct
import decimal
from decimal import Decimal

import pyarrow as pa

decimal.getcontext().prec = 100

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "..", "fuzz", "corpus", "arrow")


# -- expected texts, as Snowflake's JSON rowsets write them ---------------

def fixed(unscaled, scale):
    """A NUMBER: plain digits with exactly scale of them after the point."""
    if unscaled is None:
        return None
    return format(Decimal(unscaled).scaleb(-scale), "f")


def real(x):
    """A FLOAT: Python's repr, the shortest text that reads back the same."""
    return None if x is None else repr(x)


def ts(seconds, nanos, scale):
    """An epoch timestamp from whole seconds (floor) and nanoseconds."""
    if seconds is None:
        return None
    return fixed(seconds * 10**scale + nanos // 10 ** (9 - scale), scale)


def hexup(b):
    return None if b is None else b.hex().upper()


def days(d):
    return None if d is None else str((d - datetime.date(1970, 1, 1)).days)


# -- streams --------------------------------------------------------------

def field(name, typ, logical, scale=None, nullable=True, **extra):
    md = {"logicalType": logical} if logical else {}
    if scale is not None:
        md["scale"] = str(scale)
    md.update({k: str(v) for k, v in extra.items()})
    return pa.field(name, typ, nullable, metadata=md or None)


def rowtype(name, typ, scale=None):
    return {"name": name, "type": typ, "scale": scale, "nullable": True}


def stream(schema, batches, **options):
    sink = pa.BufferOutputStream()
    opts = pa.ipc.IpcWriteOptions(**options)
    with pa.ipc.new_stream(sink, schema, options=opts) as w:
        for b in batches:
            w.write_batch(b)
    return sink.getvalue().to_pybytes()


def batch(schema, columns):
    return pa.record_batch(columns, schema=schema)


# A minimal flatbuffer walker, to aim the malformed cases at one field.

def messages(data):
    """(start, metadata offset, metadata length, body offset, body length)."""
    out, pos = [], 0
    while pos < len(data):
        start = pos
        (word,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if word == 0xFFFFFFFF:
            (word,) = struct.unpack_from("<I", data, pos)
            pos += 4
        if word == 0:
            break
        meta, pos = pos, pos + word
        body_len = fb_scalar(data, fb_root(data, meta), 3, "<q")
        out.append((start, meta, word, pos, body_len))
        pos += body_len
    return out


def fb_root(data, base):
    return base + struct.unpack_from("<I", data, base)[0]


def fb_field(data, table, fid):
    vt = table - struct.unpack_from("<i", data, table)[0]
    vtlen = struct.unpack_from("<H", data, vt)[0]
    if 4 + 2 * fid + 2 > vtlen:
        return None
    off = struct.unpack_from("<H", data, vt + 4 + 2 * fid)[0]
    return table + off if off else None


def fb_scalar(data, table, fid, fmt):
    at = fb_field(data, table, fid)
    return struct.unpack_from(fmt, data, at)[0] if at is not None else 0


def fb_deref(data, at):
    return at + struct.unpack_from("<I", data, at)[0]


def batch_buffers(data, meta):
    """Where the first record batch's Buffer structs start."""
    header = fb_deref(data, fb_field(data, fb_root(data, meta), 2))
    return fb_deref(data, fb_field(data, header, 2)) + 4


def patch(data, at, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, at, value)
    return bytes(b)


CASES = []


def case(name, data, rt, rows=None, error=None):
    CASES.append((name, data, rt, rows, error))


# -- every type Snowflake sends ---------------------------------------------

def fixed_ints():
    vals = {
        "I8": ([1, -128, 127, None, 0], pa.int8(), 0),
        "I16": ([12345, -32768, None, 5, -5], pa.int16(), 2),
        "I32": ([-2147483648, 2147483647, 1, None, -1], pa.int32(), 4),
        "I64": ([2**63 - 1, -(2**63), None, 42, 0], pa.int64(), 0),
        "I64S9": ([-(2**63), 1, -1, None, 10**9], pa.int64(), 9),
    }
    sc = pa.schema([field(n, t, "FIXED", s, precision=38)
                    for n, (v, t, s) in vals.items()])
    b = batch(sc, [pa.array(v, t) for v, t, s in vals.values()])
    rows = [[fixed(v[r], s) for v, t, s in vals.values()] for r in range(5)]
    case("fixed_int", stream(sc, [b]),
         [rowtype(n, "fixed", s) for n, (v, t, s) in vals.items()], rows)


def fixed_unsigned():
    vals = {"U8": ([255, 0, None], pa.uint8(), 1),
            "U64": ([2**64 - 1, None, 1], pa.uint64(), 3)}
    sc = pa.schema([field(n, t, "FIXED", s) for n, (v, t, s) in vals.items()])
    b = batch(sc, [pa.array(v, t) for v, t, s in vals.values()])
    rows = [[fixed(v[r], s) for v, t, s in vals.values()] for r in range(3)]
    case("fixed_unsigned", stream(sc, [b]), None, rows)


def fixed_decimals():
    vals = {
        "D38": ([10**37 * 9, -(10**38) + 1, None, 0], 38, 0),
        "D10": ([1250, -50, 5, None], 10, 2),
        "D38S10": ([-1, 1, None, -12345678901234567890], 38, 10),
        "D38S37": ([10**37, -(10**37) - 1, 0, None], 38, 37),
    }
    sc = pa.schema([field(n, pa.decimal128(p, s), "FIXED", s)
                    for n, (v, p, s) in vals.items()])
    arrays = [pa.array([None if x is None else Decimal(x).scaleb(-s)
                        for x in v], pa.decimal128(p, s))
              for v, p, s in vals.values()]
    rows = [[fixed(v[r], s) for v, p, s in vals.values()] for r in range(4)]
    case("fixed_decimal", stream(sc, [batch(sc, arrays)]),
         [rowtype(n, "fixed", s) for n, (v, p, s) in vals.items()], rows)


def reals():
    rnd = random.Random(15)
    vals = [0.0, -0.0, 1.5, 100.0, 0.1, 1e16, 1e15, 123456789012345678.0,
            1e-5, 0.0001, 0.00012345, -2.5e-10, 1.7976931348623157e308,
            5e-324, 2.2250738585072014e-308, float("inf"), float("-inf"),
            float("nan"), None, 1 / 3, 9007199254740993.0, 1e22, 1e23]
    vals += [rnd.uniform(-1e6, 1e6) for _ in range(40)]
    vals += [struct.unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0]
             for _ in range(60)]
    sc = pa.schema([field("F", pa.float64(), "REAL")])
    case("real", stream(sc, [batch(sc, [pa.array(vals, pa.float64())])]),
         [rowtype("F", "real")], [[real(v)] for v in vals])


def texts():
    vals = ["", "héllo", "😀 emoji", 'quote " backslash \\ \n\t ctl \x01',
            None, "x" * 300, "日本語"]
    sc = pa.schema([field("T", pa.utf8(), "TEXT"),
                    field("L", pa.large_utf8(), "TEXT")])
    b = batch(sc, [pa.array(vals, pa.utf8()), pa.array(vals[::-1],
                                                        pa.large_utf8())])
    case("text", stream(sc, [b]), [rowtype("T", "text"),
                                   rowtype("L", "text")],
         [list(r) for r in zip(vals, vals[::-1])])


def semi_structured():
    vals = {
        "V": ['{\n  "a": [\n    1,\n    2\n  ]\n}', "null", "1.5", None],
        "O": ['{"k":1}', "{}", None, '{"n":{"m":"x"}}'],
        "A": ["[1,2]", "[]", None, '["a",null]'],
    }
    sc = pa.schema([field(n, pa.utf8(), {"V": "VARIANT", "O": "OBJECT",
                                         "A": "ARRAY"}[n]) for n in vals])
    b = batch(sc, [pa.array(v, pa.utf8()) for v in vals.values()])
    case("variant", stream(sc, [b]),
         [rowtype("V", "variant"), rowtype("O", "object"),
          rowtype("A", "array")],
         [list(r) for r in zip(*vals.values())])


def binaries():
    vals = [b"", b"\x00\xff\x10", None, bytes(range(256))]
    sc = pa.schema([field("B", pa.binary(), "BINARY"),
                    field("LB", pa.large_binary(), "BINARY")])
    b = batch(sc, [pa.array(vals, pa.binary()),
                   pa.array(vals[::-1], pa.large_binary())])
    case("binary", stream(sc, [b]), [rowtype("B", "binary"),
                                     rowtype("LB", "binary")],
         [[hexup(x), hexup(y)] for x, y in zip(vals, vals[::-1])])


def booleans():
    vals = [True, False, None, True, True, False, None, False, True, True,
            False, False, True, None, True, False, True]
    sc = pa.schema([field("B", pa.bool_(), "BOOLEAN")])
    b = batch(sc, [pa.array(vals, pa.bool_())])
    case("boolean", stream(sc, [b]), [rowtype("B", "boolean")],
         [[None if v is None else "1" if v else "0"] for v in vals])


def dates():
    d = [datetime.date(2024, 1, 2), datetime.date(1969, 12, 31), None,
         datetime.date(1, 1, 1), datetime.date(9999, 12, 31),
         datetime.date(1970, 1, 1)]
    ints = [None if x is None else int(days(x)) for x in d]
    sc = pa.schema([field("D", pa.date32(), "DATE"),
                    field("DI", pa.int32(), "DATE")])
    b = batch(sc, [pa.array(d, pa.date32()), pa.array(ints, pa.int32())])
    case("date", stream(sc, [b]), [rowtype("D", "date"),
                                   rowtype("DI", "date")],
         [[days(x), days(x)] for x in d])


def times():
    t3 = [45296789, 0, None, 86399999]
    t9 = [45296789000001, None, 0, 86399999999999]
    sc = pa.schema([field("T3", pa.int32(), "TIME", 3),
                    field("T9", pa.int64(), "TIME", 9)])
    b = batch(sc, [pa.array(t3, pa.int32()), pa.array(t9, pa.int64())])
    case("time", stream(sc, [b]), [rowtype("T3", "time", 3),
                                   rowtype("T9", "time", 9)],
         [[fixed(a, 3), fixed(b, 9)] for a, b in zip(t3, t9)])


def timestamps_scaled():
    n3 = [1704164645123, -1500, -1, None, 0, -62135596800000]
    l6 = [1704164645123456, None, -1, 1, -999999, 253402300799999999]
    sc = pa.schema([field("NTZ", pa.int64(), "TIMESTAMP_NTZ", 3),
                    field("LTZ", pa.int64(), "TIMESTAMP_LTZ", 6)])
    b = batch(sc, [pa.array(n3, pa.int64()), pa.array(l6, pa.int64())])
    case("timestamp_int64", stream(sc, [b]),
         [rowtype("NTZ", "timestamp_ntz", 3),
          rowtype("LTZ", "timestamp_ltz", 6)],
         [[fixed(a, 3), fixed(b, 6)] for a, b in zip(n3, l6)])


def ts_struct(epochs, fractions, zones=None, mask=None):
    arrays = [pa.array(epochs, pa.int64()), pa.array(fractions, pa.int32())]
    fields = [pa.field("epoch", pa.int64(), False),
              pa.field("fraction", pa.int32(), False)]
    if zones is not None:
        arrays.append(pa.array(zones, pa.int32()))
        fields.append(pa.field("timezone", pa.int32(), False))
    return pa.StructArray.from_arrays(arrays, fields=fields,
                                      mask=pa.array(mask) if mask else None)


def timestamps_struct():
    # Whole seconds floored, fraction in [0, 1e9): -0.5s is (-1, 5e8).
    ep = [1704164645, -1, -2, 0, 0, -62135596800, 253402300799]
    fr = [123456789, 500000000, 999999999, 0, 1, 0, 999999999]
    mask = [False, False, False, True, False, False, False]
    dt = ts_struct(ep, fr, mask=mask)
    s3 = ts_struct(ep, [f // 10**6 * 10**6 for f in fr], mask=mask)
    st = pa.struct([pa.field("epoch", pa.int64(), False),
                    pa.field("fraction", pa.int32(), False)])
    sc = pa.schema([field("NTZ9", st, "TIMESTAMP_NTZ", 9),
                    field("LTZ3", st, "TIMESTAMP_LTZ", 3)])
    rows = [[None if m else ts(e, f, 9), None if m else ts(e, f, 3)]
            for e, f, m in zip(ep, fr, mask)]
    case("timestamp_struct", stream(sc, [batch(sc, [dt, s3])]),
         [rowtype("NTZ9", "timestamp_ntz", 9),
          rowtype("LTZ3", "timestamp_ltz", 3)], rows)


def timestamps_tz():
    ep = [1704164645, -1, 0, 86400]
    fr = [123456789, 500000000, 0, 0]
    tz = [1440, 1500, 1440, 1440 - 14 * 60]
    mask = [False, False, True, False]
    three = ts_struct(ep, fr, tz, mask)
    # byteLength 8: {epoch scaled by 10^scale, timezone}, no fraction.
    scaled = [e * 1000 + f // 10**6 for e, f in zip(ep, fr)]
    two = pa.StructArray.from_arrays(
        [pa.array(scaled, pa.int64()), pa.array(tz, pa.int32())],
        fields=[pa.field("epoch", pa.int64(), False),
                pa.field("timezone", pa.int32(), False)],
        mask=pa.array(mask))
    sc = pa.schema([field("TZ9", three.type, "TIMESTAMP_TZ", 9,
                          byteLength=16),
                    field("TZ3", two.type, "TIMESTAMP_TZ", 3, byteLength=8)])
    rows = [[None, None] if m else
            [f"{ts(e, f, 9)} {z}", f"{fixed(s, 3)} {z}"]
            for e, f, z, s, m in zip(ep, fr, tz, scaled, mask)]
    case("timestamp_tz", stream(sc, [batch(sc, [three, two])]),
         [rowtype("TZ9", "timestamp_tz", 9),
          rowtype("TZ3", "timestamp_tz", 3)], rows)


# -- stream shapes ----------------------------------------------------------

def two_columns():
    return pa.schema([field("N", pa.int64(), "FIXED", 2),
                      field("S", pa.utf8(), "TEXT")])


def shapes():
    sc = two_columns()
    rt = [rowtype("N", "fixed", 2), rowtype("S", "text")]
    parts = [([1, None, -3], ["a", "b", None]), ([], []),
             ([400], [""]), ([None] * 9, [None] * 9)]
    bs = [batch(sc, [pa.array(n, pa.int64()), pa.array(s, pa.utf8())])
          for n, s in parts]
    rows = [[fixed(n, 2), s] for ns, ss in parts for n, s in zip(ns, ss)]
    case("multi_batch", stream(sc, bs), rt, rows)
    case("schema_only", stream(sc, []), rt, [])
    case("empty_input", b"", None, [])
    whole = pa.Table.from_batches(bs).combine_chunks().to_batches()[0]
    part = whole.slice(1, 5)
    case("sliced", stream(sc, [part]), rt, rows[1:6])
    legacy = stream(sc, bs, use_legacy_format=True,
                    metadata_version=pa.ipc.MetadataVersion.V4)
    case("legacy_v4", legacy, rt, rows)
    data = stream(sc, bs)
    assert data.endswith(b"\xff\xff\xff\xff\x00\x00\x00\x00")
    case("no_eos", data[:-8], rt, rows)
    # No field metadata: the rowtype gives the types and scales.
    bare = pa.schema([pa.field("N", pa.int64()), pa.field("S", pa.utf8())])
    case("rowtype_only", stream(bare, [bs[0].cast(bare)]), rt, rows[:3])
    # The metadata names no scale: the rowtype's holds.
    noscale = pa.schema([field("N", pa.int64(), "FIXED"),
                         field("S", pa.utf8(), "TEXT")])
    case("rowtype_scale", stream(noscale, [bs[0].cast(noscale)]), rt,
         rows[:3])


# -- refused, with a clear message ----------------------------------------

def one_column(name, typ, logical, values, **md):
    sc = pa.schema([field(name, typ, logical, **md)])
    return sc, stream(sc, [batch(sc, [pa.array(values, typ)])])


def refused():
    sc = two_columns()
    rt = [rowtype("N", "fixed", 2), rowtype("S", "text")]
    b = batch(sc, [pa.array([1, 2], pa.int64()), pa.array(["a", "b"])])
    case("zstd", stream(sc, [b], compression="zstd"), rt,
         error="compressed body")
    dsc = pa.schema([field("S", pa.dictionary(pa.int32(), pa.utf8()),
                           "TEXT")])
    dict_col = pa.array(["a", "b", "a"]).dictionary_encode()
    case("dictionary", stream(dsc, [batch(dsc, [dict_col])]),
         [rowtype("S", "text")], error="dictionary")
    lsc, data = one_column("A", pa.list_(pa.int64()), "ARRAY", [[1], []])
    case("list", data, [rowtype("A", "array")],
         error="ARRAY as Arrow List unsupported")
    _, data = one_column("F", pa.float32(), "REAL", [1.5])
    case("float32", data, [rowtype("F", "real")],
         error="REAL as Arrow FloatingPoint unsupported")
    _, data = one_column("T", pa.timestamp("us"), "TIMESTAMP_NTZ",
                         [datetime.datetime(2024, 1, 1)], scale=6)
    case("arrow_timestamp", data, [rowtype("T", "timestamp_ntz", 6)],
         error="TIMESTAMP_NTZ as Arrow Timestamp unsupported")
    _, data = one_column("D", pa.decimal256(40, 0), "FIXED", [Decimal(1)],
                         scale=0)
    case("decimal256", data, [rowtype("D", "fixed", 0)],
         error="FIXED as Arrow Decimal unsupported")
    _, data = one_column("X", pa.float64(), "DECFLOAT", [1.0])
    case("decfloat", data, [rowtype("X", "decfloat")],
         error="unsupported rowtype type")
    _, data = one_column("X", pa.float64(), "DECFLOAT", [1.0])
    case("decfloat_meta", data, None, error="unsupported logicalType")
    _, data = one_column("N", pa.int64(), "FIXED", [1], scale=2)
    case("type_disagrees", data, [rowtype("N", "text")], error="logicalType FIXED disagrees with the rowtype's type TEXT")
    case("scale_disagrees", data, [rowtype("N", "fixed", 3)],
         error="scale metadata 2 disagrees with the rowtype's scale 3")
    case("rowtype_count", data, [rowtype("N", "fixed", 2),
                                 rowtype("M", "fixed", 2)],
         error="has 1 columns, the rowtype 2")
    _, data = one_column("N", pa.decimal128(10, 2), "FIXED",
                         [Decimal("1.00")], scale=3)
    case("decimal_scale", data, None, error="Decimal scale 2 disagrees with the column's scale 3")
    bare = pa.schema([pa.field("N", pa.int64())])
    case("no_type", stream(bare, [batch(bare, [pa.array([1])])]), None,
         error="no logicalType and no rowtype type")
    _, data = one_column("N", pa.int64(), "FIXED", [1], scale=39)
    case("scale_range", data, None, error="scale 39 out of range")
    _, data = one_column("N", pa.null(), "TEXT", [None])
    case("null_type", data, None, error="TEXT as Arrow Null unsupported")
    _, data = one_column("T", pa.int64(), "TIMESTAMP_TZ", [1], scale=9)
    case("tz_int64", data, None, error="TIMESTAMP_TZ as Arrow Int unsupported")


def bad_values():
    st = ts_struct([0, 1], [0, 10**9])
    sc = pa.schema([field("TS", st.type, "TIMESTAMP_NTZ", 9)])
    case("fraction_range", stream(sc, [batch(sc, [st])]), None,
         error="fraction out of range")
    tz = ts_struct([0], [0], [2881])
    sc = pa.schema([field("TZ", tz.type, "TIMESTAMP_TZ", 9)])
    case("timezone_range", stream(sc, [batch(sc, [tz])]), None,
         error="timezone out of range")
    weird = pa.StructArray.from_arrays(
        [pa.array([0], pa.int64()), pa.array([0], pa.int32())],
        fields=[pa.field("epoch", pa.int64()), pa.field("nanos", pa.int32())])
    sc = pa.schema([field("TS", weird.type, "TIMESTAMP_NTZ", 9)])
    case("struct_field", stream(sc, [batch(sc, [weird])]), None,
         error="unknown timestamp field nanos")
    bad = pa.Array.from_buffers(pa.utf8(), 2, [None,
                                pa.py_buffer(struct.pack("<3i", 0, 1, 3)),
                                pa.py_buffer(b"a\xc3\x28")])
    sc = pa.schema([field("S", pa.utf8(), "TEXT")])
    case("bad_utf8", stream(sc, [batch(sc, [bad])]), None,
         error="not UTF-8")
    _, data = one_column("S", pa.utf8(), "TEXT", ["a\x00b"])
    case("nul_text", data, None, error="NUL byte")


def malformed():
    sc = two_columns()
    rt = [rowtype("N", "fixed", 2), rowtype("S", "text")]
    b = batch(sc, [pa.array([1, None, 3], pa.int64()),
                   pa.array(["ab", "c", None])])
    good = stream(sc, [b])
    (s0, m0, l0, b0, bl0), (s1, m1, l1, b1, bl1) = messages(good)
    case("truncated_body", good[:b1 + bl1 - 3], rt,
         error="body length out of bounds")
    case("truncated_meta", good[:m1 + 10], rt,
         error="metadata length out of bounds")
    case("truncated_length", good[:s1 + 6], rt,
         error="truncated message length")
    case("huge_meta", patch(good, s1 + 4, "<i", 0x7FFFFFFF), rt,
         error="metadata length out of bounds")
    case("negative_meta", patch(good, s1 + 4, "<i", -8), rt,
         error="metadata length out of bounds")
    at = fb_field(good, fb_root(good, m1), 3)
    case("huge_body", patch(good, at, "<q", 2**62), rt,
         error="body length out of bounds")
    bufs = batch_buffers(good, m1)
    case("buffer_offset", patch(good, bufs + 16, "<q", 2**40), rt,
         error="buffer outside the body")
    case("buffer_length", patch(good, bufs + 24, "<q", -1), rt,
         error="buffer outside the body")
    # The Utf8 column's offsets (buffer 3): the last one past its bytes.
    off_at = struct.unpack_from("<q", good, bufs + 16 * 3)[0]
    case("utf8_offset", patch(good, b1 + off_at + 12, "<i", 1000), rt,
         error="bad offsets")
    case("after_eos", good + b"\x00", rt, error="bytes after end-of-stream")
    case("second_schema", good[:-8] + good, rt, error="second schema")
    case("batch_first", good[s1:], rt, error="record batch before")
    root = fb_root(good, m0)
    at = fb_field(good, root, 0)
    case("version", patch(good, at, "<h", 2), rt,
         error="unsupported metadata version")
    case("root_offset", patch(good, m0, "<I", 0xFFFFFFF0), rt,
         error="offset out of bounds")
    case("vtable", patch(good, root, "<i", -0x10000), rt,
         error="vtable out of bounds")
    # Batch length 2^40 rows over buffers holding 3.
    at = fb_field(good, fb_deref(good, fb_field(good, fb_root(good, m1), 2)),
                  0)
    case("batch_length", patch(good, at, "<q", 2**40), rt,
         error="more values than its body can hold")
    # The first FieldNode says 2 rows where the batch has 3.
    header = fb_deref(good, fb_field(good, fb_root(good, m1), 2))
    nodes = fb_deref(good, fb_field(good, header, 1)) + 4
    case("node_length", patch(good, nodes, "<q", 2), rt,
         error="column N: bad field node")
    case("null_count", patch(good, nodes + 8, "<q", 4), rt,
         error="column N: bad field node")


def write():
    os.makedirs(CORPUS, exist_ok=True)
    for name, data, rt, rows, error in CASES:
        with open(os.path.join(HERE, name + ".arrow"), "wb") as f:
            f.write(data)
        if data:
            with open(os.path.join(CORPUS, name + ".arrow"), "wb") as f:
                f.write(data)
        doc = {"rowtype": rt}
        if error is None:
            doc["rows"] = rows
        else:
            doc["error"] = error
        with open(os.path.join(HERE, name + ".json"), "w",
                  encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    for make in (fixed_ints, fixed_unsigned, fixed_decimals, reals, texts, semi_structured,
                 binaries, booleans, dates, times, timestamps_scaled,
                 timestamps_struct, timestamps_tz, shapes, refused,
                 bad_values, malformed):
        make()
    write()
    print(f"{len(CASES)} cases")
