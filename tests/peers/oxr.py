"""A loopback Open Exchange Rates server that follows the documented protocol (docs.openexchangerates.org), because the real API cannot be used in tests.

What it answers, as the API documents it (base URL http://127.0.0.1:PORT/api):

* `GET currencies.json`: a flat object of currency code -> name, sorted by
  code. No App ID needed (one given must be valid).
  `show_alternative`, `show_inactive` are accepted (the list is the same).
* `GET latest.json` and `GET historical/YYYY-MM-DD.json` (1999-01-01 up to
  today, UTC): `{"disclaimer", "license", "timestamp", "base", "rates"}`,
  the timestamp the hour (latest) or the last second of that UTC day
  (historical), rates as JSON numbers with USD at 1; `symbols=EUR,GBP`
  filters them; `base` other than USD is refused with `not_allowed`, as on
  the free plan.
* Auth: `app_id` in the query, or `Authorization: Token <id>` (the URL wins
  when both are given).
* `prettyprint`: indented JSON unless `prettyprint=0` or `false`.
* Errors in the API's one format, `{"error": true, "status": N, "message":
  ..., "description": ...}` with HTTP status N: `missing_app_id` 401,
  `invalid_app_id` 401, `not_found` 404, `invalid_base` 400, `not_allowed`
  403 (what the API answers to a feature outside the plan; the docs' table
  lists 429), `access_restricted` 429 (repeated over-use).

The server's clock (`srv.now`, a UTC datetime; None: the real time)
decides latest.json's hour and which day is today, so a test can hold
the hour still or move it on.

Scenarios for tests (no shared switch, so tests can run side by side):
`srv.scenario(429, 429, "ok")` returns a base URL
(`.../s/<id>/api`) whose requests get those answers in turn, the last one
repeating: an HTTP status (its documented error body; 5xx answer with a
gateway's HTML page, as a proxy in front of the API would), `"ok"`, or
`"not-json"` (200 with an HTML page). The same over HTTP for a server in
another process: `POST /_scenario` with `{"answers": [...]}` returns
`{"base_url": ...}`. Every request is recorded in `srv.requests`.

    srv = OxrServer(app_ids={"0123..."}).start()
    srv.base_url; srv.scenario(401); srv.requests; srv.stop()
    python3 tests/peers/oxr.py [--port N] [--app-id ID]   # prints base URL
"""

import argparse
import datetime
import hashlib
import json
import signal
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DISCLAIMER = "Usage subject to terms: https://openexchangerates.org/terms"
LICENSE = "https://openexchangerates.org/license"

ERRORS = {
    "missing_app_id": (401, "No App ID provided. Please sign up at "
                       "https://openexchangerates.org/signup, or contact "
                       "support@openexchangerates.org."),
    "invalid_app_id": (401, "Invalid App ID provided - please sign up at "
                       "https://openexchangerates.org/signup, or contact "
                       "support@openexchangerates.org."),
    "not_found": (404, "Client requested a non-existent resource/route."),
    "invalid_base": (400, "Client requested rates for an unsupported base "
                     "currency."),
    "not_allowed": (403, "Changing the API `base` currency is available "
                    "for Developer, Enterprise and Unlimited plan "
                    "clients. Please upgrade, or contact "
                    "support@openexchangerates.org with any questions."),
    "access_restricted": (429, "Access restricted for repeated over-use "
                          "(status: 429). Please contact "
                          "support@openexchangerates.org."),
}
BY_STATUS = {401: "invalid_app_id", 403: "not_allowed", 404: "not_found",
             400: "invalid_base", 429: "access_restricted"}

# The API's currencies.json (active currencies, standard set).
CURRENCIES = {
    "AED": "United Arab Emirates Dirham", "AFN": "Afghan Afghani",
    "ALL": "Albanian Lek", "AMD": "Armenian Dram",
    "ANG": "Netherlands Antillean Guilder", "AOA": "Angolan Kwanza",
    "ARS": "Argentine Peso", "AUD": "Australian Dollar",
    "AWG": "Aruban Florin", "AZN": "Azerbaijani Manat",
    "BAM": "Bosnia-Herzegovina Convertible Mark",
    "BBD": "Barbadian Dollar", "BDT": "Bangladeshi Taka",
    "BGN": "Bulgarian Lev", "BHD": "Bahraini Dinar",
    "BIF": "Burundian Franc", "BMD": "Bermudan Dollar",
    "BND": "Brunei Dollar", "BOB": "Bolivian Boliviano",
    "BRL": "Brazilian Real", "BSD": "Bahamian Dollar", "BTC": "Bitcoin",
    "BTN": "Bhutanese Ngultrum", "BWP": "Botswanan Pula",
    "BYN": "Belarusian Ruble", "BZD": "Belize Dollar",
    "CAD": "Canadian Dollar", "CDF": "Congolese Franc",
    "CHF": "Swiss Franc", "CLF": "Chilean Unit of Account (UF)",
    "CLP": "Chilean Peso", "CNH": "Chinese Yuan (Offshore)",
    "CNY": "Chinese Yuan", "COP": "Colombian Peso",
    "CRC": "Costa Rican Colón", "CUC": "Cuban Convertible Peso",
    "CUP": "Cuban Peso", "CVE": "Cape Verdean Escudo",
    "CZK": "Czech Republic Koruna", "DJF": "Djiboutian Franc",
    "DKK": "Danish Krone", "DOP": "Dominican Peso",
    "DZD": "Algerian Dinar", "EGP": "Egyptian Pound",
    "ERN": "Eritrean Nakfa", "ETB": "Ethiopian Birr", "EUR": "Euro",
    "FJD": "Fijian Dollar", "FKP": "Falkland Islands Pound",
    "GBP": "British Pound Sterling", "GEL": "Georgian Lari",
    "GGP": "Guernsey Pound", "GHS": "Ghanaian Cedi",
    "GIP": "Gibraltar Pound", "GMD": "Gambian Dalasi",
    "GNF": "Guinean Franc", "GTQ": "Guatemalan Quetzal",
    "GYD": "Guyanaese Dollar", "HKD": "Hong Kong Dollar",
    "HNL": "Honduran Lempira", "HRK": "Croatian Kuna",
    "HTG": "Haitian Gourde", "HUF": "Hungarian Forint",
    "IDR": "Indonesian Rupiah", "ILS": "Israeli New Sheqel",
    "IMP": "Manx pound", "INR": "Indian Rupee", "IQD": "Iraqi Dinar",
    "IRR": "Iranian Rial", "ISK": "Icelandic Króna",
    "JEP": "Jersey Pound", "JMD": "Jamaican Dollar",
    "JOD": "Jordanian Dinar", "JPY": "Japanese Yen",
    "KES": "Kenyan Shilling", "KGS": "Kyrgystani Som",
    "KHR": "Cambodian Riel", "KMF": "Comorian Franc",
    "KPW": "North Korean Won", "KRW": "South Korean Won",
    "KWD": "Kuwaiti Dinar", "KYD": "Cayman Islands Dollar",
    "KZT": "Kazakhstani Tenge", "LAK": "Laotian Kip",
    "LBP": "Lebanese Pound", "LKR": "Sri Lankan Rupee",
    "LRD": "Liberian Dollar", "LSL": "Lesotho Loti",
    "LYD": "Libyan Dinar", "MAD": "Moroccan Dirham",
    "MDL": "Moldovan Leu", "MGA": "Malagasy Ariary",
    "MKD": "Macedonian Denar", "MMK": "Myanma Kyat",
    "MNT": "Mongolian Tugrik", "MOP": "Macanese Pataca",
    "MRU": "Mauritanian Ouguiya", "MUR": "Mauritian Rupee",
    "MVR": "Maldivian Rufiyaa", "MWK": "Malawian Kwacha",
    "MXN": "Mexican Peso", "MYR": "Malaysian Ringgit",
    "MZN": "Mozambican Metical", "NAD": "Namibian Dollar",
    "NGN": "Nigerian Naira", "NIO": "Nicaraguan Córdoba",
    "NOK": "Norwegian Krone", "NPR": "Nepalese Rupee",
    "NZD": "New Zealand Dollar", "OMR": "Omani Rial",
    "PAB": "Panamanian Balboa", "PEN": "Peruvian Nuevo Sol",
    "PGK": "Papua New Guinean Kina", "PHP": "Philippine Peso",
    "PKR": "Pakistani Rupee", "PLN": "Polish Zloty",
    "PYG": "Paraguayan Guarani", "QAR": "Qatari Rial",
    "RON": "Romanian Leu", "RSD": "Serbian Dinar",
    "RUB": "Russian Ruble", "RWF": "Rwandan Franc",
    "SAR": "Saudi Riyal", "SBD": "Solomon Islands Dollar",
    "SCR": "Seychellois Rupee", "SDG": "Sudanese Pound",
    "SEK": "Swedish Krona", "SGD": "Singapore Dollar",
    "SHP": "Saint Helena Pound", "SLL": "Sierra Leonean Leone",
    "SOS": "Somali Shilling", "SRD": "Surinamese Dollar",
    "SSP": "South Sudanese Pound",
    "STD": "São Tomé and Príncipe Dobra (pre-2018)",
    "STN": "São Tomé and Príncipe Dobra", "SVC": "Salvadoran Colón",
    "SYP": "Syrian Pound", "SZL": "Swazi Lilangeni",
    "THB": "Thai Baht", "TJS": "Tajikistani Somoni",
    "TMT": "Turkmenistani Manat", "TND": "Tunisian Dinar",
    "TOP": "Tongan Pa'anga", "TRY": "Turkish Lira",
    "TTD": "Trinidad and Tobago Dollar", "TWD": "New Taiwan Dollar",
    "TZS": "Tanzanian Shilling", "UAH": "Ukrainian Hryvnia",
    "UGX": "Ugandan Shilling", "USD": "United States Dollar",
    "UYU": "Uruguayan Peso", "UZS": "Uzbekistan Som",
    "VES": "Venezuelan Bolívar Soberano", "VND": "Vietnamese Dong",
    "VUV": "Vanuatu Vatu", "WST": "Samoan Tala",
    "XAF": "CFA Franc BEAC", "XAG": "Silver Ounce",
    "XAU": "Gold Ounce", "XCD": "East Caribbean Dollar",
    "XDR": "Special Drawing Rights", "XOF": "CFA Franc BCEAO",
    "XPD": "Palladium Ounce", "XPF": "CFP Franc",
    "XPT": "Platinum Ounce", "YER": "Yemeni Rial",
    "ZAR": "South African Rand", "ZMW": "Zambian Kwacha",
    "ZWL": "Zimbabwean Dollar",
}

# Roughly realistic rates for a few, derived ones for the rest.
ANCHORS = {"USD": 1, "EUR": 0.921, "GBP": 0.7894, "JPY": 149.52,
           "CHF": 0.8843, "AED": 3.6729, "BTC": 3.4e-05, "XAU": 0.000497}

HTML_NOT_JSON = ("<html><head><title>Maintenance</title></head><body>"
                 "<h1>We'll be right back</h1></body></html>\n")


def rate(code, day):
    """A deterministic rate per currency and day (USD is 1)."""
    h = hashlib.sha256(f"{code}:{day}".encode()).digest()
    drift = 1 + (h[0] - 128) / 12800          # within ±1 % by day
    base = ANCHORS.get(code)
    if base is None:
        base = 0.5 + int.from_bytes(h[1:3], "big") / 65.535  # 0.5..1000.5
        drift = 1
    return 1 if code == "USD" else round(base * drift, 6)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, ctype="application/json; charset=utf-8"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "public")
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status, obj, pretty=True):
        self._send(status, json.dumps(obj, indent=2 if pretty else None,
                                      ensure_ascii=False))

    def _error(self, message, pretty=True):
        status, description = ERRORS[message]
        self._json(status, {"error": True, "status": status,
                            "message": message,
                            "description": description}, pretty)

    def _answer_as(self, answer, pretty):
        """A scenario's canned answer; False means answer normally."""
        if answer == "ok":
            return False
        if answer == "not-json":
            self._send(200, HTML_NOT_JSON, "text/html")
        elif answer >= 500:
            self._send(answer, f"<html><head><title>{answer} Bad Gateway"
                       "</title></head><body><center><h1>"
                       f"{answer} Bad Gateway</h1></center></body></html>\n",
                       "text/html")
        else:
            self._error(BY_STATUS[answer], pretty)
        return True

    def do_POST(self):
        srv = self.server.owner
        if self.path != "/_scenario":
            self._error("not_found")
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            answers = json.loads(self.rfile.read(length))["answers"]
            url = srv.scenario(*answers)
        except (ValueError, KeyError, TypeError) as e:
            self._json(400, {"error": True, "status": 400,
                             "message": "bad_scenario",
                             "description": str(e)})
            return
        self._json(200, {"base_url": url})

    def do_GET(self):
        srv = self.server.owner
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        header = self.headers.get("Authorization", "")
        app_id = query.get("app_id")
        if app_id is None and header.startswith("Token "):
            app_id = header[len("Token "):]
        pretty = query.get("prettyprint", "1").lower() not in ("0",
                                                                "false")
        scenario = None
        if path.startswith("/s/"):
            scenario, _, rest = path[3:].partition("/")
            path = "/" + rest
        with srv.lock:
            srv.requests.append({"path": path, "query": query,
                                 "app_id": app_id, "scenario": scenario})
            answer = srv.next_answer(scenario)
        if answer is None:
            self._error("not_found", pretty)
            return
        if self._answer_as(answer, pretty):
            return
        if not path.startswith("/api/"):
            self._error("not_found", pretty)
            return
        route = path[len("/api/"):]
        if route == "currencies.json":
            if app_id is not None and app_id not in srv.app_ids:
                self._error("invalid_app_id", pretty)
                return
            self._json(200, dict(sorted(srv.currencies.items())), pretty)
            return
        if route == "latest.json":
            now = srv.clock()
            self._rates(query, app_id, now.date(), int(now.timestamp())
                        // 3600 * 3600, pretty)
            return
        if route.startswith("historical/") and route.endswith(".json"):
            try:
                day = datetime.date.fromisoformat(route[11:-5])
            except ValueError:
                day = None
            today = srv.clock().date()
            if day is None or not datetime.date(1999, 1, 1) <= day <= today:
                self._error("not_found", pretty)
                return
            end = datetime.datetime.combine(day, datetime.time(23, 59, 59),
                                            datetime.timezone.utc)
            self._rates(query, app_id, day, int(end.timestamp()), pretty)
            return
        self._error("not_found", pretty)

    def _rates(self, query, app_id, day, timestamp, pretty):
        srv = self.server.owner
        if app_id is None:
            self._error("missing_app_id", pretty)
            return
        if app_id not in srv.app_ids:
            self._error("invalid_app_id", pretty)
            return
        base = query.get("base", "USD").upper()
        if base not in srv.currencies:
            self._error("invalid_base", pretty)
            return
        if base != "USD":
            self._error("not_allowed", pretty)
            return
        codes = sorted(srv.currencies)
        if "symbols" in query:
            wanted = {s.strip().upper() for s in query["symbols"].split(",")}
            codes = [c for c in codes if c in wanted]
        self._json(200, {"disclaimer": DISCLAIMER, "license": LICENSE,
                         "timestamp": timestamp, "base": base,
                         "rates": {c: rate(c, day) for c in codes}}, pretty)


class OxrServer:
    def __init__(self, app_ids=("0123456789abcdef0123456789abcdef",),
                 currencies=None, port=0, now=None):
        self.app_ids = set(app_ids)
        self.now = now
        self.currencies = dict(currencies or CURRENCIES)
        self.requests = []
        self.lock = threading.Lock()
        self._port = port
        self._scenarios = {}
        self._httpd = None
        self._thread = None

    def start(self):
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port),
                                          _Handler)
        self._httpd.owner = self
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def clock(self):
        """The present as the server sees it (srv.now, else real time)."""
        return self.now or datetime.datetime.now(datetime.timezone.utc)

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/api"

    def scenario(self, *answers):
        """A base URL whose requests get answers in turn (the last repeats)."""
        if not answers:
            raise ValueError("a scenario needs at least one answer")
        for a in answers:
            if not (a in ("ok", "not-json") or a in BY_STATUS or
                    (isinstance(a, int) and 500 <= a <= 599)):
                raise ValueError(f"unknown answer {a!r}")
        sid = uuid.uuid4().hex[:12]
        with self.lock:
            self._scenarios[sid] = list(answers)
        return f"http://127.0.0.1:{self.port}/s/{sid}/api"

    def next_answer(self, sid):
        """The answer for a request of scenario sid (lock held)."""
        if sid is None:
            return "ok"
        answers = self._scenarios.get(sid)
        if answers is None:
            return None
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def requests_of(self, base_url):
        """The requests made under a scenario's base URL."""
        sid = base_url.split("/s/", 1)[1].split("/", 1)[0]
        with self.lock:
            return [r for r in self.requests if r["scenario"] == sid]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--app-id", action="append",
                    help="a valid App ID (repeat); default a fixed test one")
    args = ap.parse_args()
    srv = OxrServer(app_ids=args.app_id or
                    ("0123456789abcdef0123456789abcdef",),
                    port=args.port).start()
    print(srv.base_url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
