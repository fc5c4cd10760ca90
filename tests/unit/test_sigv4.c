/*
 * test_sigv4.c: aws/sigv4 against the aws-c-auth v4 signing test suite
 * (every case directory, header and query variants) and the S3 examples
 * from the AWS documentation, plus the helpers and error paths.
 * SIGV4_TEST_DIR overrides where the suite lives.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws/sigv4.h"
#include "t.h"

#define SUITE_DEFAULT \
	"../shared/testdata/aws-sigv4/tests/aws-signing-test-suite/v4"
#define MAXHDR	32

struct parsed {
	char			*method, *path, *query, *body;
	size_t			 body_len, nheaders;
	char			*names[MAXHDR], *values[MAXHDR];
	struct sigv4_header	 headers[MAXHDR];
};

/* Reads a whole file; trailing newlines are cut when trim is set. */
static char *
slurp(const char *dir, const char *name, int trim, size_t *lenp)
{
	char	 path[1024];
	FILE	*f;
	char	*buf;
	long	 len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (len < 0 || (buf = malloc((size_t)len + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	len = (long)fread(buf, 1, (size_t)len, f);
	fclose(f);
	while (trim && len > 0 &&
	    (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)len;
	return buf;
}

static char *
dupn(const char *s, size_t n)
{
	char	*p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Splits request.txt: request line, folded headers, blank line, body. */
static int
parse_request(char *txt, size_t len, struct parsed *r)
{
	char	*line = txt, *nl, *sp, *q, *c, *old;
	size_t	 n;

	memset(r, 0, sizeof(*r));
	if ((nl = strchr(line, '\n')) == NULL)
		nl = line + strlen(line);
	*nl = '\0';
	if ((sp = strchr(line, ' ')) == NULL ||
	    (q = strrchr(line, ' ')) == sp)
		return -1;
	*q = '\0';
	r->method = dupn(line, (size_t)(sp - line));
	if ((c = strchr(sp + 1, '?')) != NULL) {
		r->query = strdup(c + 1);
		*c = '\0';
	}
	r->path = strdup(sp + 1);
	for (line = nl + 1; line < txt + len; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = txt + len;
		*nl = '\0';
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0) {
			line = nl + 1;
			break;
		}
		if ((*line == ' ' || *line == '\t') && r->nheaders > 0) {
			/* obs-fold: a continuation of the previous value */
			old = r->values[r->nheaders - 1];
			if ((c = malloc(strlen(old) + n + 2)) == NULL)
				return -1;
			sprintf(c, "%s %s", old, line);
			free(old);
			r->values[r->nheaders - 1] = c;
			continue;
		}
		if ((c = strchr(line, ':')) == NULL || r->nheaders == MAXHDR)
			return -1;
		r->names[r->nheaders] = dupn(line, (size_t)(c - line));
		r->values[r->nheaders++] = strdup(c + 1);
	}
	if (line < txt + len) {
		r->body_len = (size_t)(txt + len - line);
		r->body = dupn(line, r->body_len);
	}
	for (n = 0; n < r->nheaders; n++) {
		r->headers[n].name = r->names[n];
		r->headers[n].value = r->values[n];
	}
	return 0;
}

static void
parsed_free(struct parsed *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->body);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
jtrue(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const char *
after(const char *s, const char *marker)
{
	const char	*p = s ? strstr(s, marker) : NULL;

	return p ? p + strlen(marker) : NULL;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Signs one case directory both ways and counts the variants that match. */
static void
run_case(const char *suite, const char *name, int *hok, int *qok)
{
	char			 dir[768], tname[300], date[17], err[256];
	char			*ctx, *req, *e_cr, *e_sts, *e_sig;
	char			*e_signed;
	char			*out = NULL, *cr = NULL, *sts = NULL;
	const char		*ts, *line;
	cJSON			*j, *cj;
	struct parsed		 r;
	struct sigv4_creds	 creds;
	struct sigv4_params	 p;
	struct sigv4_request	 rq;
	size_t			 len = 0, k = 0;
	long			 expires;
	int			 ok;

	snprintf(dir, sizeof(dir), "%s/%s", suite, name);
	ctx = slurp(dir, "context.json", 0, NULL);
	req = slurp(dir, "request.txt", 0, &len);
	j = ctx ? cJSON_Parse(ctx) : NULL;
	cj = cJSON_GetObjectItemCaseSensitive(j, "credentials");
	ok = j != NULL && req != NULL && parse_request(req, len, &r) == 0;
	if (!ok)
		memset(&r, 0, sizeof(r));
	for (ts = jstr(j, "timestamp"); ts && *ts && k < 16; ts++)
		if (*ts != '-' && *ts != ':')
			date[k++] = *ts;
	date[k] = '\0';
	creds.access_key = jstr(cj, "access_key_id");
	creds.secret_key = jstr(cj, "secret_access_key");
	/* omit_session_token: the token is attached after signing */
	creds.session_token = jtrue(j, "omit_session_token") ? NULL :
	    jstr(cj, "token");
	p.region = jstr(j, "region");
	p.service = jstr(j, "service");
	p.amz_date = date;
	p.normalize_path = jtrue(j, "normalize");
	p.sign_body_header = jtrue(j, "sign_body");
	expires = (long)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(j, "expiration_in_seconds"));
	rq.method = r.method;
	rq.path = r.path;
	rq.query = r.query;
	rq.headers = r.headers;
	rq.nheaders = r.nheaders;
	rq.body = r.body;
	rq.body_len = r.body_len;
	rq.payload_hash = NULL;

	snprintf(tname, sizeof(tname), "suite header %s", name);
	TEST(tname) {
		CHECK(ok);
		err[0] = '\0';
		CHECK(sigv4_sign(&rq, &creds, &p, &out, &cr, &sts, err,
		    sizeof(err)) == 0);
		CHECK_STR(err, "");
		e_cr = slurp(dir, "header-canonical-request.txt", 1, NULL);
		e_sts = slurp(dir, "header-string-to-sign.txt", 1, NULL);
		e_sig = slurp(dir, "header-signature.txt", 1, NULL);
		e_signed = slurp(dir, "header-signed-request.txt", 1, NULL);
		CHECK_STR(cr, e_cr);
		CHECK_STR(sts, e_sts);
		CHECK_STR(after(out, "Signature="), e_sig);
		line = after(e_signed, "\nAuthorization:");
		CHECK(line != NULL && out != NULL &&
		    strncmp(line, out, strlen(out)) == 0);
		*hok += !t_cur_failed;
		free(e_cr);
		free(e_sts);
		free(e_sig);
		free(e_signed);
	}
	free(out);
	free(cr);
	free(sts);
	out = cr = sts = NULL;

	snprintf(tname, sizeof(tname), "suite query %s", name);
	TEST(tname) {
		CHECK(ok);
		CHECK(sigv4_presign(&rq, &creds, &p, expires, &out, &cr, &sts,
		    err, sizeof(err)) == 0);
		e_cr = slurp(dir, "query-canonical-request.txt", 1, NULL);
		e_sts = slurp(dir, "query-string-to-sign.txt", 1, NULL);
		e_sig = slurp(dir, "query-signature.txt", 1, NULL);
		CHECK_STR(cr, e_cr);
		CHECK_STR(sts, e_sts);
		CHECK_STR(after(out, "&X-Amz-Signature="), e_sig);
		*qok += !t_cur_failed;
		free(e_cr);
		free(e_sts);
		free(e_sig);
	}
	free(out);
	free(cr);
	free(sts);
	parsed_free(&r);
	cJSON_Delete(j);
	free(ctx);
	free(req);
}

static void
run_suite(void)
{
	const char	*suite = getenv("SIGV4_TEST_DIR");
	DIR		*d;
	struct dirent	*de;
	char		*names[256];
	size_t		 n = 0;
	int		 hok = 0, qok = 0, explicit = suite != NULL;

	if (suite == NULL)
		suite = SUITE_DEFAULT;
	if ((d = opendir(suite)) == NULL) {
		printf("# sigv4 suite: not found at %s%s\n", suite,
		    explicit ? "" : " (SKIP)");
		TEST("sigv4 suite present")
			CHECK(!explicit);
		return;
	}
	/* every case is v4 (AWS4-HMAC-SHA256); v4a would be skipped */
	while ((de = readdir(d)) != NULL && n < 256)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmpstr);
	for (size_t i = 0; i < n; i++) {
		if (names[i] != NULL)
			run_case(suite, names[i], &hok, &qok);
		free(names[i]);
	}
	TEST("sigv4 suite has cases")
		CHECK(n >= 30);
	printf("# sigv4 suite: %d/%zu header, %d/%zu query\n", hok, n, qok, n);
}

static const struct sigv4_creds doc_creds = {
	"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	NULL
};

static void
run_s3(void)
{
	static const char empty[] =
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	struct sigv4_header	 h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "Range", "bytes=0-9" },
	};
	struct sigv4_request	 rq = { "GET", "/test.txt", NULL, h, 2,
	    NULL, 0, NULL };
	struct sigv4_params	 p = { "us-east-1", "s3", "20130524T000000Z",
	    0, 1 };
	char			 err[128] = "", *auth = NULL, *q = NULL;

	TEST("s3 GET object, header signing (AWS example)") {
		CHECK(sigv4_sign(&rq, &doc_creds, &p, &auth, NULL, NULL, err,
		    sizeof(err)) == 0);
		CHECK_STR(auth, "AWS4-HMAC-SHA256 Credential="
		    "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
		    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
		    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48d"
		    "d91039c6036bdb41");
	}
	free(auth);
	auth = NULL;
	TEST("s3 explicit x-amz-content-sha256 is not added twice") {
		struct sigv4_header	h2[] = {
			{ "x-amz-content-sha256", empty },
			{ "Host", "examplebucket.s3.amazonaws.com" },
			{ "Range", "bytes=0-9" },
		};

		rq.headers = h2;
		rq.nheaders = 3;
		rq.payload_hash = empty;
		CHECK(sigv4_sign(&rq, &doc_creds, &p, &auth, NULL, NULL, err,
		    sizeof(err)) == 0);
		CHECK_STR(after(auth, "Signature="), "f0e8bdb87c964420e857bd35"
		    "b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	}
	free(auth);
	TEST("s3 presigned GET (AWS example)") {
		rq.headers = h;
		rq.nheaders = 1;
		rq.payload_hash = "UNSIGNED-PAYLOAD";
		CHECK(sigv4_presign(&rq, &doc_creds, &p, 86400, &q, NULL, NULL,
		    err, sizeof(err)) == 0);
		CHECK_STR(q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&"
		    "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
		    "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
		    "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&"
		    "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330d"
		    "a4c265957d157751f604d404");
	}
	free(q);
}

static void
run_paths(void)
{
	struct sigv4_header	 h = { "host", "h" };
	struct sigv4_request	 rq = { "GET", NULL, NULL, &h, 1, NULL, 0,
	    "UNSIGNED-PAYLOAD" };
	struct sigv4_params	 p = { "r", "s", "20150830T123600Z", 1, 0 };
	struct sigv4_creds	 c = { "a", "b", NULL };
	char			 err[128], name[128], *auth, *cr = NULL;
	static const struct {
		const char	*path, *query;
		int		 normalize;
		const char	*want;	/* "uri\nquery\n" */
	} v[] = {
		{ NULL, NULL, 1, "/\n\n" },
		{ "/a%20b/../c d", NULL, 1, "/c%20d\n\n" },
		{ "/a%20b", NULL, 1, "/a%2520b\n\n" },
		{ "/a/b/..", NULL, 1, "/a\n\n" },
		{ "/a/./b/../../", NULL, 1, "/\n\n" },
		{ "/../..", NULL, 1, "/\n\n" },
		{ "/k%2fx y+z%", NULL, 0, "/k%2Fx%20y%2Bz%25\n\n" },
		{ "//a/./b", NULL, 0, "//a/./b\n\n" },
		{ "/", "b=2&a=1&a=0&&c", 1, "/\na=0&a=1&b=2&c=\n" },
		{ "/", "a+b=%7e%2x&a-b=1&a=z", 1,
		    "/\na=z&a%2Bb=~%252x&a-b=1\n" },
		{ "/", "x=%00%FF=", 1, "/\nx=%00%FF%3D\n" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(name, sizeof(name), "canonical %s ? %s (normalize %d)",
		    v[i].path ? v[i].path : "(null)",
		    v[i].query ? v[i].query : "", v[i].normalize);
		TEST(name) {
			rq.path = v[i].path;
			rq.query = v[i].query;
			p.normalize_path = v[i].normalize;
			CHECK(sigv4_sign(&rq, &c, &p, &auth, &cr, NULL, err,
			    sizeof(err)) == 0);
			free(auth);
			CHECK(cr != NULL && strncmp(cr, "GET\n", 4) == 0 &&
			    strncmp(cr + 4, v[i].want, strlen(v[i].want)) == 0);
			if (t_cur_failed)
				printf("#   got %s\n", cr ? cr : "(null)");
			free(cr);
			cr = NULL;
		}
	}
}

/* Expects -1 with outs reset and an error naming the problem. */
#define FAILS(call, want) do { \
	a = cr = (char *)1; \
	err[0] = '\0'; \
	CHECK((call) == -1 && a == NULL && cr == NULL); \
	CHECK(strstr(err, want) != NULL); \
	CHECK(strstr(err, "SECRETKEYVALUE") == NULL); \
} while (0)

static void
run_errors(void)
{
	struct sigv4_header	 h[] = { { "host", "h" }, { "x", "a\r\nb" },
	    { "bad name", "v" } };
	struct sigv4_request	 rq = { "GET", "/", NULL, h + 1, 1, NULL, 0,
	    NULL };
	struct sigv4_params	 p = { "r", "s", "20150830T123600Z", 1, 0 };
	struct sigv4_creds	 c = { "AKID", "SECRETKEYVALUE", NULL };
	char			 err[128], *a, *cr;

	TEST("errors: host, CR/LF, names, date, expiry, keys, body") {
		FAILS(sigv4_sign(&rq, &c, &p, &a, &cr, NULL, err,
		    sizeof(err)), "bad header 0");
		h[1].value = "v";
		FAILS(sigv4_sign(&rq, &c, &p, &a, &cr, NULL, err,
		    sizeof(err)), "no host header");
		rq.headers = h;
		rq.nheaders = 3;
		FAILS(sigv4_sign(&rq, &c, &p, &a, &cr, NULL, err,
		    sizeof(err)), "bad header 2");
		rq.nheaders = 1;
		p.amz_date = "2015-08-30T12:36";
		FAILS(sigv4_sign(&rq, &c, &p, &a, &cr, NULL, err,
		    sizeof(err)), "amz_date");
		p.amz_date = "20150830T123600Z";
		FAILS(sigv4_presign(&rq, &c, &p, 0, &a, &cr, NULL, err,
		    sizeof(err)), "expiry");
		FAILS(sigv4_presign(&rq, &c, &p, 604801, &a, &cr, NULL, err,
		    sizeof(err)), "expiry");
		c.access_key = "AK/ID";
		FAILS(sigv4_sign(&rq, &c, &p, &a, &cr, NULL, err,
		    sizeof(err)), "access key");
		c.access_key = "AKID";
		c.secret_key = "";
		FAILS(sigv4_sign(&rq, &c, &p, &a, &cr, NULL, err,
		    sizeof(err)), "secret key");
		c.secret_key = "SECRETKEYVALUE";
		rq.body_len = 3;
		FAILS(sigv4_sign(&rq, &c, &p, &a, &cr, NULL, err,
		    sizeof(err)), "body");
		rq.body_len = 0;
		c.session_token = "tok\r\nen";
		FAILS(sigv4_sign(&rq, &c, &p, &a, &cr, NULL, err,
		    sizeof(err)), "bad x-amz-security-token value");
	}
}

int
main(void)
{
	char	 buf[65], *s = NULL;

	TEST("sigv4_amz_date") {
		CHECK(sigv4_amz_date(1440938160, buf) == 0);
		CHECK_STR(buf, "20150830T123600Z");
		CHECK(sigv4_amz_date(1369353600, buf) == 0);
		CHECK_STR(buf, "20130524T000000Z");
	}
	TEST("sigv4_sha256_hex") {
		CHECK(sigv4_sha256_hex(NULL, 0, buf) == 0);
		CHECK_STR(buf, "e3b0c44298fc1c149afbf4c8996fb924"
		    "27ae41e4649b934ca495991b7852b855");
		CHECK(sigv4_sha256_hex("Param1=value1", 13, buf) == 0);
		CHECK_STR(buf, "9095672bbd1f56dfc5b65f3e153adc87"
		    "31a4a654192329106275f4c7b24d0b6e");
	}
	TEST("sigv4_uri_encode") {
		CHECK(sigv4_uri_encode("a b/c~-_.%+\xe1\x88\xb4", 0, &s) == 0);
		CHECK_STR(s, "a%20b/c~-_.%25%2B%E1%88%B4");
		free(s);
		CHECK(sigv4_uri_encode("a/b", 1, &s) == 0);
		CHECK_STR(s, "a%2Fb");
		free(s);
	}
	run_suite();
	run_s3();
	run_paths();
	run_errors();
	return t_done();
}
