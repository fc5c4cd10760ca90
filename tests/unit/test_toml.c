/*
 * test_toml.c: config/toml.c against the official toml-test suite (the
 * TOML 1.0.0 case list) plus the accessors and error reporting.  Valid
 * cases are turned into toml-test's tagged JSON form and compared with
 * the expected .json; invalid ones must fail with a line number.  The
 * suite is found through TOML_TEST_DIR or ../shared/testdata/toml-test.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"
#include "tests/unit/t.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*s = NULL, *ns;
	size_t	 n = 0, cap = 0, r;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((ns = realloc(s, cap)) == NULL) {
				free(s);
				fclose(f);
				return NULL;
			}
			s = ns;
		}
		if ((r = fread(s + n, 1, cap - n - 1, f)) == 0)
			break;
		n += r;
	}
	fclose(f);
	s[n] = '\0';
	*len = n;
	return s;
}

static const char *
type_name(enum toml_type t)
{
	switch (t) {
	case TOML_STRING: return "string";
	case TOML_INTEGER: return "integer";
	case TOML_FLOAT: return "float";
	case TOML_BOOL: return "bool";
	case TOML_DATETIME: return "datetime";
	case TOML_DATETIME_LOCAL: return "datetime-local";
	case TOML_DATE_LOCAL: return "date-local";
	case TOML_TIME_LOCAL: return "time-local";
	default: return "?";
	}
}

/* Date-times compare by value: case, separator, fraction zeros. */
static void
norm_dt(const char *in, char *out, size_t len)
{
	size_t	 i, j = 0, dot = 0;

	for (i = 0; in[i] != '\0' && j + 1 < len; i++) {
		char	c = in[i];

		if (c == ' ' || c == 't')
			c = 'T';
		if (c == 'z')
			c = 'Z';
		out[j++] = c;
		if (c == '.')
			dot = j;
		else if (dot && (c < '0' || c > '9')) {
			/* Drop trailing zeros of the fraction just ended. */
			size_t	k = j - 1;

			while (k > dot && out[k - 1] == '0')
				k--;
			if (k == dot)
				k--;
			out[k++] = c;
			j = k;
			dot = 0;
		}
	}
	if (dot) {
		while (j > dot && out[j - 1] == '0')
			j--;
		if (j == dot)
			j--;
	}
	out[j] = '\0';
}

/* Compares a parsed tree with toml-test's JSON; why gets the path. */
static int
same(const cJSON *got, const cJSON *want, const char *path, char *why,
    size_t wlen)
{
	const cJSON	*c, *w, *wt, *wv;
	char		 sub[512], a[128], b[128];
	enum toml_type	 t = toml_type_of(got);
	long long	 iv;
	double		 d;
	int		 i = 0;

	if (t == TOML_TABLE || t == TOML_ARRAY) {
		if (t == TOML_TABLE ? !cJSON_IsObject(want) :
		    !cJSON_IsArray(want) || cJSON_GetArraySize(got) !=
		    cJSON_GetArraySize(want)) {
			snprintf(why, wlen, "%s: shape differs", path);
			return 0;
		}
		for (c = got->child; c != NULL; c = c->next, i++) {
			if (t == TOML_TABLE) {
				snprintf(sub, sizeof(sub), "%s.%s", path,
				    c->string);
				w = cJSON_GetObjectItemCaseSensitive(want,
				    c->string);
			} else {
				snprintf(sub, sizeof(sub), "%s[%d]", path, i);
				w = cJSON_GetArrayItem(want, i);
			}
			if (w == NULL) {
				snprintf(why, wlen, "%s: unexpected", sub);
				return 0;
			}
			if (!same(c, w, sub, why, wlen))
				return 0;
		}
		return 1;
	}
	wt = cJSON_GetObjectItemCaseSensitive(want, "type");
	wv = cJSON_GetObjectItemCaseSensitive(want, "value");
	if (!cJSON_IsString(wt) || !cJSON_IsString(wv) ||
	    strcmp(wt->valuestring, type_name(t)) != 0) {
		snprintf(why, wlen, "%s: type %s, want %s", path,
		    type_name(t), cJSON_IsString(wt) ? wt->valuestring : "?");
		return 0;
	}
	switch (t) {
	case TOML_STRING:
		i = strcmp(got->valuestring, wv->valuestring) == 0;
		break;
	case TOML_INTEGER:
		i = toml_get_int64(got, &iv) == 0 &&
		    iv == strtoll(wv->valuestring, NULL, 10);
		break;
	case TOML_FLOAT:
		d = strtod(wv->valuestring, NULL);
		i = isnan(d) ? isnan(got->valuedouble) :
		    d == got->valuedouble &&
		    !signbit(d) == !signbit(got->valuedouble);
		break;
	case TOML_BOOL:
		i = strcmp(wv->valuestring, cJSON_IsTrue(got) ? "true" :
		    "false") == 0;
		break;
	default:
		norm_dt(got->valuestring, a, sizeof(a));
		norm_dt(wv->valuestring, b, sizeof(b));
		i = strcmp(a, b) == 0;
		break;
	}
	if (!i)
		snprintf(why, wlen, "%s: value differs from %s", path,
		    wv->valuestring);
	return i;
}

static char *
case_path(const char *dir, const char *name, const char *ext)
{
	size_t	 n = strlen(dir) + strlen(name) + 16;
	char	*p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/tests/%.*s%s", dir,
		    (int)(strlen(name) - 5), name, ext);
	return p;
}

/* One valid case; returns 1 when it matches, else prints why. */
static int
run_valid(const char *dir, const char *name)
{
	struct toml_error	 err;
	char			*tp = case_path(dir, name, ".toml");
	char			*jp = case_path(dir, name, ".json");
	char			*text = NULL, *json = NULL, why[700];
	size_t			 tl = 0, jl = 0;
	cJSON			*got = NULL, *want = NULL;
	int			 ok = 0;

	if (tp == NULL || jp == NULL || (text = slurp(tp, &tl)) == NULL ||
	    (json = slurp(jp, &jl)) == NULL)
		snprintf(why, sizeof(why), "cannot read case files");
	else if ((want = cJSON_Parse(json)) == NULL)
		snprintf(why, sizeof(why), "bad expected JSON");
	else if ((got = toml_parse(text, tl, &err)) == NULL)
		snprintf(why, sizeof(why), "%s", err.msg);
	else
		ok = same(got, want, "", why, sizeof(why));
	if (!ok)
		printf("#   %s: %s\n", name, why);
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(text);
	free(json);
	free(tp);
	free(jp);
	return ok;
}

static int
run_invalid(const char *dir, const char *name)
{
	struct toml_error	 err;
	char			*tp = case_path(dir, name, ".toml");
	char			*text = NULL;
	size_t			 tl = 0;
	cJSON			*got = NULL;
	int			 ok = 0;

	if (tp != NULL && (text = slurp(tp, &tl)) != NULL) {
		got = toml_parse(text, tl, &err);
		ok = got == NULL && err.line > 0 && err.msg[0] != '\0';
		if (!ok)
			printf("#   %s: %s\n", name, got ? "accepted" :
			    "no line number");
	} else
		printf("#   %s: cannot read\n", name);
	cJSON_Delete(got);
	free(text);
	free(tp);
	return ok;
}

static void
suite(void)
{
	const char	*dir = getenv("TOML_TEST_DIR"), *l, *nl;
	char		*list = NULL, lp[1024], name[512];
	size_t		 len, n;
	int		 vn = 0, vok = 0, in = 0, iok = 0, pass;

	if (dir == NULL || *dir == '\0')
		dir = "../shared/testdata/toml-test";
	if ((size_t)snprintf(lp, sizeof(lp), "%s/tests/files-toml-1.0.0",
	    dir) < sizeof(lp))
		list = slurp(lp, &len);
	TEST("toml-test suite is present") {
		if (list == NULL)
			printf("#   cannot read %s (set TOML_TEST_DIR)\n", lp);
		CHECK(list != NULL);
	}
	if (list == NULL)
		return;
	for (pass = 0; pass < 2; pass++) {
		TEST(pass == 0 ? "toml-test 1.0 valid cases" :
		    "toml-test 1.0 invalid cases") {
			for (l = list; *l != '\0'; l = nl + (*nl != '\0')) {
				if ((nl = strchr(l, '\n')) == NULL)
					nl = l + strlen(l);
				n = (size_t)(nl - l);
				if (n < 5 || n >= sizeof(name) ||
				    memcmp(nl - 5, ".toml", 5) != 0)
					continue;
				memcpy(name, l, n);
				name[n] = '\0';
				if (pass == 0 && !strncmp(name, "valid/", 6)) {
					vn++;
					vok += run_valid(dir, name);
				} else if (pass == 1 &&
				    !strncmp(name, "invalid/", 8)) {
					in++;
					iok += run_invalid(dir, name);
				}
			}
			CHECK(pass == 0 ? vn > 0 && vok == vn :
			    in > 0 && iok == in);
		}
	}
	printf("# toml-test 1.0: valid %d/%d, invalid %d/%d\n", vok, vn,
	    iok, in);
	free(list);
}

static cJSON *
parse(const char *s, struct toml_error *err)
{
	return toml_parse(s, strlen(s), err);
}

int
main(void)
{
	struct toml_error	 err;
	cJSON			*r, *it;
	long long		 v;

	suite();

	TEST("types and exact integers") {
		r = parse("i = -9223372036854775808\nh = 0xff\nf = 1.5\n"
		    "n = -nan\ns = \"x\"\nb = true\nd = 1979-05-27 07:32:00z\n"
		    "l = 1979-05-27T07:32:00.5\ndl = 1979-05-27\n"
		    "tl = 07:32:00\na = [1]\nt = {}\n", &err);
		CHECK(r != NULL);
		it = cJSON_GetObjectItemCaseSensitive(r, "i");
		CHECK(toml_type_of(it) == TOML_INTEGER && cJSON_IsNumber(it));
		CHECK(toml_get_int64(it, &v) == 0 && v == LLONG_MIN);
		it = cJSON_GetObjectItemCaseSensitive(r, "h");
		CHECK(toml_get_int64(it, &v) == 0 && v == 255);
		CHECK_STR(it->valuestring, "255");
		it = cJSON_GetObjectItemCaseSensitive(r, "f");
		CHECK(toml_type_of(it) == TOML_FLOAT && it->valuedouble == 1.5);
		CHECK(toml_get_int64(it, &v) == -1);
		it = cJSON_GetObjectItemCaseSensitive(r, "n");
		CHECK(toml_type_of(it) == TOML_FLOAT && isnan(it->valuedouble));
		CHECK(toml_type_of(cJSON_GetObjectItemCaseSensitive(r, "s")) ==
		    TOML_STRING);
		CHECK(toml_type_of(cJSON_GetObjectItemCaseSensitive(r, "b")) ==
		    TOML_BOOL);
		it = cJSON_GetObjectItemCaseSensitive(r, "d");
		CHECK(toml_type_of(it) == TOML_DATETIME && cJSON_IsString(it));
		CHECK_STR(cJSON_GetStringValue(it), "1979-05-27T07:32:00Z");
		it = cJSON_GetObjectItemCaseSensitive(r, "l");
		CHECK(toml_type_of(it) == TOML_DATETIME_LOCAL);
		CHECK(toml_type_of(cJSON_GetObjectItemCaseSensitive(r, "dl")) ==
		    TOML_DATE_LOCAL);
		CHECK(toml_type_of(cJSON_GetObjectItemCaseSensitive(r, "tl")) ==
		    TOML_TIME_LOCAL);
		CHECK(toml_type_of(cJSON_GetObjectItemCaseSensitive(r, "a")) ==
		    TOML_ARRAY);
		CHECK(toml_type_of(cJSON_GetObjectItemCaseSensitive(r, "t")) ==
		    TOML_TABLE);
		CHECK(toml_type_of(r) == TOML_TABLE);
		CHECK(toml_type_of(NULL) == TOML_NONE);
		/* The markers survive cJSON_Duplicate. */
		it = cJSON_Duplicate(r, 1);
		CHECK(toml_type_of(cJSON_GetObjectItemCaseSensitive(it, "d")) ==
		    TOML_DATETIME);
		CHECK(toml_get_int64(cJSON_GetObjectItemCaseSensitive(it, "i"),
		    &v) == 0 && v == LLONG_MIN);
		cJSON_Delete(it);
		cJSON_Delete(r);
	}

	TEST("errors carry line and column") {
		r = parse("a = 1\nb = \"x\"\n\tc = 9223372036854775808\n",
		    &err);
		CHECK(r == NULL && err.line == 3 && err.col == 6);
		CHECK_STR(err.msg, "3:6: integer out of range");
		r = parse("[a]\n[a]\n", &err);
		CHECK(r == NULL && err.line == 2);
		CHECK_STR(err.msg, "2:1: table defined twice 'a'");
		r = parse("k = \"\xc3\xa9\" \x01\n", &err);
		CHECK(r == NULL && err.line == 1 && err.col == 9);
		r = parse("a = \"\xff\"", &err);
		CHECK(r == NULL && strstr(err.msg, "UTF-8") != NULL);
		r = toml_parse_file("/nonexistent/x.toml", &err);
		CHECK(r == NULL && err.line == 0 && err.msg[0] != '\0');
	}

	TEST("deep nesting is refused, not crashed on") {
		char	*s = malloc(40000);

		CHECK(s != NULL);
		if (s != NULL) {
			memset(s, '[', 40000);
			memcpy(s, "a = ", 4);
			r = toml_parse(s, 40000, &err);
			CHECK(r == NULL && strstr(err.msg, "deep") != NULL);
			for (int i = 0; i < 39996; i += 2)
				memcpy(s + i, "a.", 2);
			memcpy(s + 39996, "a=1\n", 4);
			r = toml_parse(s, 40000, &err);
			CHECK(r == NULL && strstr(err.msg, "deep") != NULL);
			free(s);
		}
	}
	return t_done();
}
