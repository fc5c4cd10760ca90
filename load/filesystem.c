/*
 * filesystem.c: dlt 1.31's filesystem destination (dlt/destinations/
 * impl/filesystem/filesystem.py), jsonl only, on a local folder or an
 * S3 bucket (aws/s3.h). What lands is what dlt writes:
 *
 *   <bucket_url>/<dataset>/init            {"initial_version":2,...}
 *   <dataset>/<layout>                     the data: by default
 *                                          <table>/<load_id>.<file_id>.jsonl.gz
 *   <dataset>/_dlt_version/<schema>__<time>__<hex hash>.jsonl
 *   <dataset>/_dlt_pipeline_state/<pipeline>__<load_id>__<hex hash>.jsonl
 *   <dataset>/_dlt_loads/<schema>__<load_id>.jsonl   written last
 *
 * append adds files; replace deletes the table chain's files first;
 * merge falls back to append as dlt does for jsonl. A package is done
 * when its _dlt_loads file exists; until then a retry writes the same
 * keys again (load and file ids come from the package), so nothing is
 * duplicated, and each object is written whole (S3 PUT or multipart
 * with abort; a local file by rename) or not at all.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "aws/credentials.h"
#include "aws/s3.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/util.h"
#include "config/cfg.h"
#include "load/destination.h"
#include "load/filesystem.h"
#include "load/loader.h"
#include "load/package.h"
#include "load/schema.h"

#define DEFAULT_LAYOUT	"{table_name}/{load_id}.{file_id}.{ext}"
#define SEP		"__"

struct fsdest {
	struct ld_dest		 base;
	char			*name;
	char			*bucket_url;	/* for messages */
	int			 local;
	char			*root;		/* local dir, or key prefix */
	char			*bucket;
	struct aws_creds	 creds;
	struct s3_client	 s3;
	char			*layout;
	int			 compress;
	long long		 max_state_files;
};

/* --------------------------------------------------------- storage */

/* rel ("ds/t/x.jsonl") as a local path or an S3 key. */
static char *
full(const struct fsdest *d, const char *rel)
{
	if (d->local)
		return xasprintf("%s/%s", d->root, rel);
	return *d->root ? xasprintf("%s/%s", d->root, rel) : xstrdup(rel);
}

static int
st_put(struct fsdest *d, const char *rel, const char *data, size_t len,
    char *err, size_t errlen)
{
	char	*p = full(d, rel), *dir;
	int	 rc;

	if (!d->local)
		rc = s3_put(&d->s3, d->bucket, p, data, len, err, errlen);
	else {
		dir = xstrdup(p);
		*strrchr(dir, '/') = '\0';
		rc = ld_mkdirs(dir, err, errlen);
		if (rc == 0)
			rc = ld_write_file(p, data, len, err, errlen);
		free(dir);
	}
	free(p);
	return rc;
}

/* A local file up, whole: S3 (multipart when large), or a copy. */
static int
st_put_file(struct fsdest *d, const char *rel, const char *path, char *err,
    size_t errlen)
{
	char	*p, *data;
	size_t	 len;
	int	 rc;

	if (!d->local) {
		p = full(d, rel);
		rc = s3_put_file(&d->s3, d->bucket, p, path, err, errlen);
		free(p);
		return rc;
	}
	if ((data = read_file_max(path, (size_t)1 << 34, &len, err,
	    errlen)) == NULL)
		return -1;
	rc = st_put(d, rel, data, len, err, errlen);
	free(data);
	return rc;
}

/* 0 with *data, 1 when absent, -1 with err. */
static int
st_get(struct fsdest *d, const char *rel, char **data, size_t *len,
    char *err, size_t errlen)
{
	char	*p = full(d, rel);
	int	 rc = 0;

	*data = NULL;
	if (!d->local)
		rc = s3_get(&d->s3, d->bucket, p, data, len, err, errlen);
	else if (access(p, F_OK) == -1 && errno == ENOENT)
		rc = 1;
	else if ((*data = read_file_max(p, 256u << 20, len, err,
	    errlen)) == NULL)
		rc = -1;
	free(p);
	return rc;
}

static void
push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* Files below dir (relative names prefixed with rel), recursively. */
static void
walk(const char *dir, const char *rel, char ***v, size_t *n)
{
	DIR		*dh = opendir(dir);
	struct dirent	*e;
	struct stat	 st;

	while (dh != NULL && (e = readdir(dh)) != NULL) {
		char	*p, *r;

		/* "." names: ld_write_file's temporaries. */
		if (e->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		r = xasprintf("%s%s", rel, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *sub = xasprintf("%s/", r);

			walk(p, sub, v, n);
			free(sub);
			free(r);
		} else
			push(v, n, r);
		free(p);
	}
	if (dh != NULL)
		closedir(dh);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every rel name starting with prefix, sorted. */
static int
st_list(struct fsdest *d, const char *prefix, char ***out, size_t *n,
    char *err, size_t errlen)
{
	char	**v = xcalloc(1, sizeof(*v)), *slash;
	size_t	  k = 0;

	*out = NULL;
	*n = 0;
	if (!d->local) {
		char	**keys, *p = full(d, prefix);
		size_t	  nk, skip = *d->root ? strlen(d->root) + 1 : 0;

		if (s3_list(&d->s3, d->bucket, p, &keys, &nk, err,
		    errlen) == -1) {
			free(p);
			free(v);
			return -1;
		}
		for (size_t i = 0; i < nk; i++) {
			if (strlen(keys[i]) >= skip)
				push(&v, &k, xstrdup(keys[i] + skip));
			free(keys[i]);
		}
		free(keys);
		free(p);
	} else {
		char	*dirrel = xstrdup(prefix), *dir;

		slash = strrchr(dirrel, '/');
		if (slash != NULL)
			slash[1] = '\0';
		else
			dirrel[0] = '\0';
		dir = full(d, dirrel);
		walk(dir, dirrel, &v, &k);
		free(dir);
		free(dirrel);
		/* Keep those under the prefix itself. */
		for (size_t i = 0, j = 0; i < k; i++) {
			if (strncmp(v[i], prefix, strlen(prefix)) == 0)
				v[j++] = v[i];
			else {
				free(v[i]);
				v[i] = NULL;
			}
			if (i + 1 == k) {
				k = j;
				v[k] = NULL;
			}
		}
	}
	qsort(v, k, sizeof(*v), by_name);
	*out = v;
	*n = k;
	return 0;
}

static int
st_delete(struct fsdest *d, char **rels, size_t n, char *err, size_t errlen)
{
	char	**keys;
	int	  rc = 0;

	if (n == 0)
		return 0;
	keys = xcalloc(n + 1, sizeof(*keys));
	for (size_t i = 0; i < n; i++)
		keys[i] = full(d, rels[i]);
	if (!d->local)
		rc = s3_delete(&d->s3, d->bucket, (const char *const *)keys, n,
		    err, errlen);
	else
		for (size_t i = 0; i < n && rc == 0; i++)
			if (unlink(keys[i]) == -1 && errno != ENOENT)
				rc = errorf(err, errlen, "cannot delete %s: %s",
				    keys[i], strerror(errno));
	ld_strv_free(keys);
	return rc;
}

/* ---------------------------------------------------------- layout */

/* dlt's pendulum tokens, lower-cased as dlt's prepare_datetime_params. */
static int
datetime_token(const char *tok, const struct tm *tm, long usec, char *out,
    size_t outlen)
{
	static const char *const months[] = { "january", "february", "march",
	    "april", "may", "june", "july", "august", "september", "october",
	    "november", "december" };
	static const char *const days[] = { "sunday", "monday", "tuesday",
	    "wednesday", "thursday", "friday", "saturday" };
	int	y = tm->tm_year + 1900;

	if (strcmp(tok, "YYYY") == 0 || strcmp(tok, "Y") == 0)
		snprintf(out, outlen, "%d", y);
	else if (strcmp(tok, "YY") == 0)
		snprintf(out, outlen, "%02d", y % 100);
	else if (strcmp(tok, "MMMM") == 0)
		snprintf(out, outlen, "%s", months[tm->tm_mon]);
	else if (strcmp(tok, "MMM") == 0)
		snprintf(out, outlen, "%.3s", months[tm->tm_mon]);
	else if (strcmp(tok, "MM") == 0)
		snprintf(out, outlen, "%02d", tm->tm_mon + 1);
	else if (strcmp(tok, "M") == 0)
		snprintf(out, outlen, "%d", tm->tm_mon + 1);
	else if (strcmp(tok, "DD") == 0)
		snprintf(out, outlen, "%02d", tm->tm_mday);
	else if (strcmp(tok, "D") == 0)
		snprintf(out, outlen, "%d", tm->tm_mday);
	else if (strcmp(tok, "HH") == 0)
		snprintf(out, outlen, "%02d", tm->tm_hour);
	else if (strcmp(tok, "H") == 0)
		snprintf(out, outlen, "%d", tm->tm_hour);
	else if (strcmp(tok, "mm") == 0)
		snprintf(out, outlen, "%02d", tm->tm_min);
	else if (strcmp(tok, "m") == 0)
		snprintf(out, outlen, "%d", tm->tm_min);
	else if (strcmp(tok, "ss") == 0)
		snprintf(out, outlen, "%02d", tm->tm_sec);
	else if (strcmp(tok, "s") == 0)
		snprintf(out, outlen, "%d", tm->tm_sec);
	else if (strcmp(tok, "dddd") == 0)
		snprintf(out, outlen, "%s", days[tm->tm_wday]);
	else if (strcmp(tok, "ddd") == 0)
		snprintf(out, outlen, "%.3s", days[tm->tm_wday]);
	else if (strcmp(tok, "dd") == 0)
		snprintf(out, outlen, "%.2s", days[tm->tm_wday]);
	else if (strcmp(tok, "d") == 0)
		snprintf(out, outlen, "%d", tm->tm_wday);
	else if (strcmp(tok, "SSSS") == 0)
		snprintf(out, outlen, "%04ld", usec / 100);
	else if (strcmp(tok, "SSS") == 0)
		snprintf(out, outlen, "%03ld", usec / 1000);
	else if (strcmp(tok, "SS") == 0)
		snprintf(out, outlen, "%02ld", usec / 10000);
	else if (strcmp(tok, "S") == 0)
		snprintf(out, outlen, "%ld", usec / 100000);
	else if (strcmp(tok, "Q") == 0)
		snprintf(out, outlen, "%d", tm->tm_mon / 3 + 1);
	else
		return -1;
	return 0;
}

struct layout_args {
	const char	*schema, *table, *load_id, *file_id, *ext;
	double		 when;		/* the package's created_at */
};

static int
placeholder(const char *tok, const struct layout_args *a, char *out,
    size_t outlen)
{
	time_t		secs = (time_t)floor(a->when);
	long		usec = (long)((a->when - (double)secs) * 1e6);
	struct tm	tm;
	const char	*s = NULL;

	gmtime_r(&secs, &tm);
	if (strcmp(tok, "schema_name") == 0)
		s = a->schema;
	else if (strcmp(tok, "table_name") == 0)
		s = a->table;
	else if (strcmp(tok, "load_id") == 0)
		s = a->load_id;
	else if (strcmp(tok, "file_id") == 0)
		s = a->file_id;
	else if (strcmp(tok, "ext") == 0)
		s = a->ext;
	if (s != NULL) {
		snprintf(out, outlen, "%s", s);
		return 0;
	}
	if (strcmp(tok, "timestamp") == 0 ||
	    strcmp(tok, "load_package_timestamp") == 0)
		snprintf(out, outlen, "%lld", (long long)secs);
	else if (strcmp(tok, "timestamp_ms") == 0 ||
	    strcmp(tok, "load_package_timestamp_ms") == 0)
		snprintf(out, outlen, "%lld", (long long)secs * 1000 +
		    usec / 1000);
	else if (strcmp(tok, "curr_date") == 0)
		snprintf(out, outlen, "%04d-%02d-%02d", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday);
	else
		return datetime_token(tok, &tm, usec, out, outlen);
	return 0;
}

/* dlt's create_path: the layout with {ext} added when it lacks it. */
char *
ld_fs_render_layout(const char *layout, const char *schema,
    const char *table, const char *load_id, const char *file_id,
    const char *ext, double when, char *err, size_t errlen)
{
	struct layout_args	 a = { schema, table, load_id, file_id, ext,
	    when };
	struct buf		 out;
	char			 tok[64], val[256];

	buf_init(&out, 4096);
	for (const char *p = layout; *p; p++) {
		const char	*e;

		if (*p != '{') {
			buf_putc(&out, *p);
			continue;
		}
		if ((e = strchr(p, '}')) == NULL || (size_t)(e - p) >=
		    sizeof(tok)) {
			buf_cleanup(&out);
			errorf(err, errlen, "layout `%s` has an unclosed "
			    "placeholder", layout);
			return NULL;
		}
		snprintf(tok, sizeof(tok), "%.*s", (int)(e - p - 1), p + 1);
		if (placeholder(tok, &a, val, sizeof(val)) == -1) {
			buf_cleanup(&out);
			errorf(err, errlen, "layout `%s`: `{%s}` is not a "
			    "placeholder dlt knows", layout, tok);
			return NULL;
		}
		buf_puts(&out, val);
		p = e;
	}
	if (strstr(layout, "{ext}") == NULL)
		buf_printf(&out, ".%s", ext);
	return buf_finish(&out);
}

/*
 * dlt's get_table_prefix_layout, filled in: the layout up to {table_name}
 * and the separator after it ("items/"); dlt's own tables always get
 * "<table>/".
 */
char *
ld_fs_table_prefix(const char *layout, const char *schema,
    const char *table, char *err, size_t errlen)
{
	const char	*t = strstr(layout, "{table_name}");
	struct buf	 out;

	if (strncmp(table, "_dlt", 4) == 0)
		return xasprintf("%s/", table);
	if (t == NULL || t[12] == '\0' || t[12] == '{') {
		errorf(err, errlen, "layout `%s` needs {table_name} followed "
		    "by a separator", layout);
		return NULL;
	}
	buf_init(&out, 4096);
	for (const char *p = layout; p < t; p++) {
		if (strncmp(p, "{schema_name}", 13) == 0) {
			buf_puts(&out, schema);
			p += 12;
		} else if (*p == '{') {
			buf_cleanup(&out);
			errorf(err, errlen, "layout `%s`: only {schema_name} "
			    "may come before {table_name}", layout);
			return NULL;
		} else
			buf_putc(&out, *p);
	}
	buf_printf(&out, "%s%c", table, t[12]);
	return buf_finish(&out);
}

/* ------------------------------------------------------------ open */

static char *
opt_str(struct cfg *cfg, const char *sections, const char *spec,
    const char *key, const char *pipeline, int flags, const char *def,
    char *err, size_t errlen, int *failed)
{
	struct cfg_field f = { 0 };
	struct cfg_value v;
	char		*s = NULL;

	f.sections = sections;
	f.key = key;
	f.spec_section = spec;
	f.pipeline = pipeline;
	f.type = CFG_STR;
	f.flags = flags | CFG_OPTIONAL;
	f.def = def;
	if (cfg_resolve(cfg, &f, &v, err, errlen) == -1) {
		*failed = 1;
		return NULL;
	}
	if (cfg_value_str(&v) != NULL && *cfg_value_str(&v))
		s = xstrdup(cfg_value_str(&v));
	cfg_value_cleanup(&v);
	return s;
}

/* destination.<name>.credentials in dlt's AwsCredentials fields, else
   the default chain. */
static int
open_s3(struct fsdest *d, const struct ld_dest_config *c, char *err,
    size_t errlen)
{
	char			*sec = xasprintf("destination.%s", c->name);
	struct aws_creds_config	 ac = { 0 };
	char			*ak, *sk, *tok, *region, *endpoint, *profile,
				*r;
	int			 failed = 0, rc;

	ak = opt_str(c->cfg, sec, "credentials", "aws_access_key_id",
	    c->pipeline, 0, NULL, err, errlen, &failed);
	sk = opt_str(c->cfg, sec, "credentials", "aws_secret_access_key",
	    c->pipeline, CFG_SECRET, NULL, err, errlen, &failed);
	tok = opt_str(c->cfg, sec, "credentials", "aws_session_token",
	    c->pipeline, CFG_SECRET, NULL, err, errlen, &failed);
	region = opt_str(c->cfg, sec, "credentials", "region_name",
	    c->pipeline, 0, NULL, err, errlen, &failed);
	endpoint = opt_str(c->cfg, sec, "credentials", "endpoint_url",
	    c->pipeline, 0, NULL, err, errlen, &failed);
	profile = opt_str(c->cfg, sec, "credentials", "profile_name",
	    c->pipeline, 0, NULL, err, errlen, &failed);
	free(sec);
	rc = failed ? -1 : 0;
	if (rc == 0) {
		ac = (struct aws_creds_config){ ak, sk, tok, profile };
		rc = aws_creds_resolve(&ac, &d->creds, err, errlen);
		if (rc == 1)
			rc = -1;
	}
	if (rc == 0) {
		r = aws_region_resolve(region, profile);
		s3_client_init(&d->s3, endpoint, r, &d->creds);
		free(r);
	}
	free(ak);
	free(sk);
	free(tok);
	free(region);
	free(endpoint);
	free(profile);
	return rc;
}

static int
open_bucket(struct fsdest *d, const struct ld_dest_config *c, char *err,
    size_t errlen)
{
	const char	*u = d->bucket_url;
	size_t		 n;

	if (strncasecmp(u, "s3://", 5) == 0) {
		if (s3_parse_url(u, &d->bucket, &d->root) == -1)
			return errorf(err, errlen, "bucket_url `%s` names no "
			    "bucket", u);
		return open_s3(d, c, err, errlen);
	}
	if (strncasecmp(u, "file://", 7) == 0)
		u += 7;
	else if (strstr(u, "://") != NULL)
		return errorf(err, errlen, "bucket_url `%s`: pfagent's "
		    "filesystem destination writes to a local folder, file:// "
		    "or s3://", d->bucket_url);
	d->local = 1;
	d->root = u[0] == '/' || c->local_dir == NULL ? xstrdup(u) :
	    xasprintf("%s/%s", c->local_dir, u);
	n = strlen(d->root);
	while (n > 1 && d->root[n - 1] == '/')
		d->root[--n] = '\0';
	return 0;
}

static void
fs_close(struct ld_dest *base)
{
	struct fsdest	*d = (struct fsdest *)base;

	if (d == NULL)
		return;
	s3_client_cleanup(&d->s3);
	aws_creds_cleanup(&d->creds);
	free(d->name);
	free(d->bucket_url);
	free(d->root);
	free(d->bucket);
	free(d->layout);
	free(d);
}

static int
fs_open(const struct ld_dest_config *c, struct ld_dest **out, char *err,
    size_t errlen)
{
	struct fsdest	*d = xcalloc(1, sizeof(*d));
	char		*sec = xasprintf("destination.%s", c->name), *s;
	int		 failed = 0;

	*out = NULL;
	d->base.ops = &ld_filesystem_ops;
	d->name = xstrdup(c->name);
	d->bucket_url = opt_str(c->cfg, sec, NULL, "bucket_url", c->pipeline,
	    0, NULL, err, errlen, &failed);
	d->layout = opt_str(c->cfg, sec, NULL, "layout", c->pipeline, 0,
	    DEFAULT_LAYOUT, err, errlen, &failed);
	s = opt_str(c->cfg, sec, NULL, "max_state_files", c->pipeline, 0,
	    "100", err, errlen, &failed);
	d->max_state_files = s != NULL ? atoll(s) : 100;
	free(s);
	s = opt_str(c->cfg, "normalize.data_writer", "data_writer",
	    "disable_compression", c->pipeline, 0, "false", err, errlen,
	    &failed);
	d->compress = s == NULL || !(strcasecmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0);
	free(s);
	free(sec);
	if (!failed && d->bucket_url == NULL)
		failed = errorf(err, errlen, "destination.%s.bucket_url is "
		    "not set: where the filesystem destination writes "
		    "(a folder, file:// or s3://bucket/prefix)", c->name);
	if (failed || open_bucket(d, c, err, errlen) == -1) {
		fs_close(&d->base);
		return -1;
	}
	*out = &d->base;
	return 0;
}

/* -------------------------------------------------------- load */

struct fsload {
	struct fsdest		*d;
	const char		*dataset, *load_id, *pkg_dir;
	struct ld_schema	*schema;
	char			*hash_hex;	/* the schema's hash as hex */
	int			 gz_suffix;	/* init version 2 */
	double			 created;	/* the package's created_at */
	struct ld_load_result	*out;
	char			*err;
	size_t			 errlen;
};

/* dlt's _to_path_safe_string: base64 version hash to hex. */
static char *
hash_hex(const char *b64)
{
	unsigned char	bin[96];
	struct buf	out;
	int		n;
	size_t		len = strlen(b64);

	if (len == 0 || len > 128)
		return xstrdup("");
	n = EVP_DecodeBlock(bin, (const unsigned char *)b64, (int)len);
	/* EVP_DecodeBlock counts the padding as bytes. */
	for (size_t i = len; n > 0 && i > 0 && b64[i - 1] == '='; i--)
		n--;
	buf_init(&out, 256);
	for (int i = 0; i < n; i++)
		buf_printf(&out, "%02x", bin[i]);
	return out.data != NULL ? buf_steal(&out) : xstrdup("");
}

/* The package's created_at (dlt's load_package_timestamp), else now. */
static double
package_time(const char *pkg_dir)
{
	char	 err[256], *path, *text;
	cJSON	*st;
	double	 t = (double)realtime_us() / 1e6;

	path = xasprintf("%s/load_package_state.json", pkg_dir);
	text = read_file_max(path, 16u << 20, NULL, err, sizeof(err));
	st = text != NULL ? cJSON_Parse(text) : NULL;
	if (cJSON_GetStringValue(cJSON_GetObjectItem(st, "created_at")))
		iso8601_parse(cJSON_GetStringValue(cJSON_GetObjectItem(st,
		    "created_at")), &t);
	cJSON_Delete(st);
	free(text);
	free(path);
	return t;
}

static char *
rel(const struct fsload *l, const char *tail)
{
	return xasprintf("%s/%s", l->dataset, tail);
}

/* Python's datetime.isoformat() of now in UTC: microseconds, +00:00. */
static void
now_iso(char out[40])
{
	char	us[32];

	iso8601_us(realtime_us(), us);
	us[strlen(us) - 1] = '\0';	/* the Z */
	snprintf(out, 40, "%s+00:00", us);
}

static int
put_json(struct fsload *l, const char *tail, cJSON *doc)
{
	char	*text = cJSON_PrintUnformatted(doc), *r = rel(l, tail);
	int	 rc = st_put(l->d, r, text, strlen(text), l->err, l->errlen);

	free(text);
	free(r);
	return rc;
}

/* The init marker: written once; an empty one is dlt's version 1
   (data files without .gz), migrated to 2 as dlt does. */
static int
init_marker(struct fsload *l)
{
	char	*r = rel(l, "init"), *text = NULL;
	size_t	 len = 0;
	int	 rc, initial = 2;
	cJSON	*doc;

	rc = st_get(l->d, r, &text, &len, l->err, l->errlen);
	free(r);
	if (rc == -1)
		return -1;
	if (rc == 0 && text != NULL) {
		char	*t = str_strip(text);

		if (*t == '\0')
			initial = 1;
		else if ((doc = cJSON_Parse(t)) != NULL) {
			const cJSON *iv = cJSON_GetObjectItem(doc,
			    "initial_version");

			if (cJSON_IsNumber(iv))
				initial = iv->valueint;
			cJSON_Delete(doc);
		}
		rc = *t != '\0';	/* 1: nothing to write */
		free(t);
	} else
		rc = 0;
	free(text);
	l->gz_suffix = initial != 1;
	if (rc == 1)
		return 0;
	doc = cJSON_CreateObject();
	cJSON_AddNumberToObject(doc, "initial_version", initial);
	cJSON_AddNumberToObject(doc, "current_version", 2);
	rc = put_json(l, "init", doc);
	cJSON_Delete(doc);
	return rc;
}

static int
exists(struct fsload *l, const char *tail, int *found)
{
	char	*r = rel(l, tail), *text = NULL;
	size_t	 len;
	int	 rc = st_get(l->d, r, &text, &len, l->err, l->errlen);

	free(r);
	free(text);
	*found = rc == 0;
	return rc == -1 ? -1 : 0;
}

/* Files of a table (dlt's list_table_files), as rel names. */
static int
table_files(struct fsload *l, const char *table, char ***v, size_t *n)
{
	char	*prefix, *r;
	int	 rc;

	prefix = ld_fs_table_prefix(l->d->layout, l->schema->name, table,
	    l->err, l->errlen);
	if (prefix == NULL)
		return -1;
	r = rel(l, prefix);
	rc = st_list(l->d, r, v, n, l->err, l->errlen);
	free(r);
	free(prefix);
	return rc;
}

static int
delete_table(struct fsload *l, const char *table)
{
	char	**v;
	size_t	  n;
	int	  rc;

	if (table_files(l, table, &v, &n) == -1)
		return -1;
	rc = st_delete(l->d, v, n, l->err, l->errlen);
	ld_strv_free(v);
	return rc;
}

static const char *
job_table(const char *base, char *table, size_t tlen, char *file_id,
    size_t flen)
{
	const char	*dot = strchr(base, '.'), *dot2;

	if (dot == NULL || (dot2 = strchr(dot + 1, '.')) == NULL)
		return NULL;
	snprintf(table, tlen, "%.*s", (int)(dot - base), base);
	snprintf(file_id, flen, "%.*s", (int)(dot2 - dot - 1), dot + 1);
	return table;
}

/* replace: the chains of replaced root tables lose their files. */
static int
truncate_replaced(struct fsload *l, char **jobs, size_t n)
{
	for (size_t i = 0; i < l->schema->ntables; i++) {
		const struct ld_table	*t = l->schema->tables[i], *root;
		int			 in = 0;

		root = ld_schema_root(l->schema, t);
		if (root == NULL || root->disposition != LD_REPLACE ||
		    strncmp(t->name, "_dlt", 4) == 0)
			continue;
		for (size_t j = 0; j < n && !in; j++) {
			char	table[256], fid[64];
			const struct ld_table *jt;

			if (job_table(strrchr(jobs[j], '/') + 1, table,
			    sizeof(table), fid, sizeof(fid)) == NULL)
				continue;
			jt = ld_schema_table(l->schema, table);
			in = jt != NULL &&
			    ld_schema_root(l->schema, jt) == root;
		}
		if (in && delete_table(l, t->name) == -1)
			return -1;
	}
	return 0;
}

/* _dlt_version: the schema, unless a file of its hash is there. */
static int
store_schema(struct fsload *l)
{
	char	**v, id[32], now[40], *tail, *text;
	size_t	  n;
	int	  found = 0, rc;
	cJSON	 *doc, *sdoc;

	if (table_files(l, "_dlt_version", &v, &n) == -1)
		return -1;
	for (size_t i = 0; i < n && !found; i++) {
		size_t	len = strlen(v[i]), hl = strlen(l->hash_hex);

		found = len > hl + 6 && strcmp(v[i] + len - 6, ".jsonl") == 0 &&
		    strncmp(v[i] + len - 6 - hl, l->hash_hex, hl) == 0 &&
		    strncmp(v[i] + len - 6 - hl - 2, SEP, 2) == 0;
	}
	ld_strv_free(v);
	if (found)
		return 0;
	ld_load_id_new(id);
	now_iso(now);
	sdoc = ld_schema_to_json(l->schema);
	text = cJSON_PrintUnformatted(sdoc);
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "version_hash", l->schema->version_hash);
	cJSON_AddStringToObject(doc, "schema_name", l->schema->name);
	cJSON_AddNumberToObject(doc, "version", (double)l->schema->version);
	cJSON_AddItemToObject(doc, "engine_version", cJSON_Duplicate(
	    cJSON_GetObjectItem(sdoc, "engine_version"), 1));
	cJSON_AddStringToObject(doc, "inserted_at", now);
	cJSON_AddStringToObject(doc, "schema", text);
	tail = xasprintf("_dlt_version/%s" SEP "%s" SEP "%s.jsonl",
	    l->schema->name, id, l->hash_hex);
	rc = put_json(l, tail, doc);
	free(tail);
	free(text);
	cJSON_Delete(doc);
	cJSON_Delete(sdoc);
	return rc;
}

/* The job gzipped (as dlt's data writer) beside it; *rows: its lines. */
static char *
gzip_job(struct fsload *l, const char *path, long long *rows)
{
	char	*out = xasprintf("%s.gz.part", path), chunk[65536];
	FILE	*in = fopen(path, "rb");
	gzFile	 gz = NULL;
	size_t	 n;
	int	 ok = in != NULL;

	*rows = 0;
	if (ok && l->d->compress)
		ok = (gz = gzopen(out, "wb")) != NULL;
	while (ok && (n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
		for (size_t i = 0; i < n; i++)
			*rows += chunk[i] == '\n';
		if (gz != NULL)
			ok = gzwrite(gz, chunk, (unsigned)n) == (int)n;
	}
	if (in != NULL)
		fclose(in);
	if (gz != NULL && gzclose(gz) != Z_OK)
		ok = 0;
	if (!ok) {
		errorf(l->err, l->errlen, "cannot compress %s", path);
		unlink(out);
		free(out);
		return NULL;
	}
	if (!l->d->compress) {
		free(out);
		return xstrdup(path);
	}
	return out;
}

static int
upload_job(struct fsload *l, const char *path, const char *table,
    const char *file_id)
{
	const char	*ext = l->d->compress ? (l->gz_suffix ? "jsonl.gz" :
	    "jsonl") : "jsonl";
	char		*key, *r, *src;
	long long	 rows;
	int		 rc;

	key = ld_fs_render_layout(l->d->layout, l->schema->name, table,
	    l->load_id, file_id, ext, l->created, l->err, l->errlen);
	if (key == NULL)
		return -1;
	if ((src = gzip_job(l, path, &rows)) == NULL) {
		free(key);
		return -1;
	}
	r = rel(l, key);
	rc = st_put_file(l->d, r, src, l->err, l->errlen);
	if (l->d->compress)
		unlink(src);
	if (rc == 0) {
		struct ld_load_result *o = l->out;

		ld_load_result_count(l->out, table, rows);
		o->files = xrealloc(o->files, (o->nfiles + 1) *
		    sizeof(*o->files));
		o->files[o->nfiles++] = (struct ld_landed_file){
		    xstrdup(table), xstrdup(key), rows };
	}
	free(src);
	free(r);
	free(key);
	return rc;
}

/* Older state files of the pipeline beyond max_state_files go. */
static int
cleanup_states(struct fsload *l, const char *pipeline)
{
	char	**v, **mine;
	size_t	  n, k = 0;
	int	  rc = 0;

	if (l->d->max_state_files < 1)
		return 0;
	if (table_files(l, "_dlt_pipeline_state", &v, &n) == -1)
		return -1;
	mine = xcalloc(n + 1, sizeof(*mine));
	for (size_t i = 0; i < n; i++) {
		const char *base = strrchr(v[i], '/') + 1;
		size_t	    pl = strlen(pipeline);

		if (strncmp(base, pipeline, pl) == 0 &&
		    strncmp(base + pl, SEP, 2) == 0)
			mine[k++] = v[i];
	}
	/* Newest first by load id as a number, as dlt sorts them. */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && atof(strrchr(mine[j - 1], '/') + 3 +
		    strlen(pipeline)) < atof(strrchr(mine[j], '/') + 3 +
		    strlen(pipeline)); j--) {
			char *t = mine[j];

			mine[j] = mine[j - 1];
			mine[j - 1] = t;
		}
	if ((long long)k > l->d->max_state_files)
		rc = st_delete(l->d, mine + l->d->max_state_files,
		    k - (size_t)l->d->max_state_files, l->err, l->errlen);
	free(mine);
	ld_strv_free(v);
	return rc;
}

/* The state row of the package as dlt's state file (no _dlt_id). */
static int
store_state(struct fsload *l, const char *job)
{
	char	*text, *nl, *tail;
	cJSON	*row;
	int	 rc;
	const char *pipeline;

	if ((text = read_file_max(job, 64u << 20, NULL, l->err,
	    l->errlen)) == NULL)
		return -1;
	if ((nl = strchr(text, '\n')) != NULL)
		*nl = '\0';
	row = cJSON_Parse(text);
	free(text);
	pipeline = cJSON_GetStringValue(cJSON_GetObjectItem(row,
	    "pipeline_name"));
	if (pipeline == NULL) {
		cJSON_Delete(row);
		return errorf(l->err, l->errlen, "%s: no pipeline state row",
		    job);
	}
	cJSON_DeleteItemFromObject(row, "_dlt_id");
	tail = xasprintf("_dlt_pipeline_state/%s" SEP "%s" SEP "%s.jsonl",
	    pipeline, l->load_id, l->hash_hex);
	rc = put_json(l, tail, row);
	free(tail);
	ld_load_result_count(l->out, "_dlt_pipeline_state", 1);
	if (rc == 0)
		rc = cleanup_states(l, pipeline);
	cJSON_Delete(row);
	return rc;
}

static int
store_load(struct fsload *l)
{
	char	 now[40], *tail;
	cJSON	*doc = cJSON_CreateObject();
	int	 rc;

	now_iso(now);
	cJSON_AddStringToObject(doc, "load_id", l->load_id);
	cJSON_AddStringToObject(doc, "schema_name", l->schema->name);
	cJSON_AddNumberToObject(doc, "status", 0);
	cJSON_AddStringToObject(doc, "inserted_at", now);
	cJSON_AddStringToObject(doc, "schema_version_hash",
	    l->schema->version_hash);
	tail = xasprintf("_dlt_loads/%s" SEP "%s.jsonl", l->schema->name,
	    l->load_id);
	rc = put_json(l, tail, doc);
	free(tail);
	cJSON_Delete(doc);
	return rc;
}

/* `pipeline drop`'s dropped tables: their files and the stored
   schemas go (dlt's drop_tables(delete_schema=True)). */
static int
drop_tables(struct fsload *l)
{
	char		 err[256], *path, *text, **v;
	cJSON		*st;
	const cJSON	*t;
	size_t		 n;
	int		 rc = 0, any = 0;

	path = xasprintf("%s/load_package_state.json", l->pkg_dir);
	text = read_file_max(path, 16u << 20, NULL, err, sizeof(err));
	free(path);
	st = text != NULL ? cJSON_Parse(text) : NULL;
	free(text);
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(st, "dropped_tables")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(t,
		    "name"));

		if (name != NULL && rc == 0) {
			rc = delete_table(l, name);
			any = 1;
		}
	}
	cJSON_Delete(st);
	if (rc == 0 && any && table_files(l, "_dlt_version", &v, &n) == 0) {
		char	**mine = xcalloc(n + 1, sizeof(*mine));
		size_t	  k = 0, sl = strlen(l->schema->name);

		for (size_t i = 0; i < n; i++) {
			const char *base = strrchr(v[i], '/') + 1;

			if (strncmp(base, l->schema->name, sl) == 0 &&
			    strncmp(base + sl, SEP, 2) == 0)
				mine[k++] = v[i];
		}
		rc = st_delete(l->d, mine, k, l->err, l->errlen);
		free(mine);
		ld_strv_free(v);
	}
	return rc;
}

static char **
job_paths(const char *pkg_dir, size_t *n)
{
	char		*dir = xasprintf("%s/new_jobs", pkg_dir);
	DIR		*dh = opendir(dir);
	struct dirent	*e;
	char		**v = xcalloc(1, sizeof(*v));

	*n = 0;
	while (dh != NULL && (e = readdir(dh)) != NULL) {
		size_t	len = strlen(e->d_name);

		if (e->d_name[0] != '.' && len > 6 &&
		    strcmp(e->d_name + len - 6, ".jsonl") == 0)
			push(&v, n, xasprintf("%s/%s", dir, e->d_name));
	}
	if (dh != NULL)
		closedir(dh);
	free(dir);
	qsort(v, *n, sizeof(*v), by_name);
	return v;
}

static int
load_jobs(struct fsload *l, char **jobs, size_t n)
{
	const char	*state = NULL;

	for (size_t i = 0; i < n; i++) {
		char	table[256], fid[64];

		if (job_table(strrchr(jobs[i], '/') + 1, table, sizeof(table),
		    fid, sizeof(fid)) == NULL)
			return errorf(l->err, l->errlen, "job %s: not a job "
			    "file name", jobs[i]);
		if (ld_schema_table(l->schema, table) == NULL)
			return errorf(l->err, l->errlen, "job %s: table %s is "
			    "not in the package's schema", jobs[i], table);
		if (strcmp(table, "_dlt_pipeline_state") == 0)
			state = jobs[i];
		else if (upload_job(l, jobs[i], table, fid) == -1)
			return -1;
	}
	/* dlt's complete_load: the state, then the load marker. */
	if (state != NULL && store_state(l, state) == -1)
		return -1;
	return store_load(l);
}

static int
fs_load_package(struct ld_dest *base, const char *dataset,
    const char *pkg_dir, const char *load_id, struct ld_load_result *out,
    char *err, size_t errlen)
{
	struct fsload	 l = { 0 };
	char		**jobs = NULL, *tail;
	size_t		  njobs = 0;
	int		  found = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	l.d = (struct fsdest *)base;
	l.dataset = dataset;
	l.load_id = load_id;
	l.pkg_dir = pkg_dir;
	l.out = out;
	l.err = err;
	l.errlen = errlen;
	if ((l.schema = ld_load_read_schema(pkg_dir, err, errlen)) == NULL)
		return -1;
	l.hash_hex = hash_hex(l.schema->version_hash);
	l.created = package_time(pkg_dir);
	tail = xasprintf("_dlt_loads/%s" SEP "%s.jsonl", l.schema->name,
	    load_id);
	if (exists(&l, tail, &found) == -1)
		goto out;
	if (found) {
		out->already = 1;
		rc = 0;
		goto out;
	}
	jobs = job_paths(pkg_dir, &njobs);
	if (init_marker(&l) == 0 && drop_tables(&l) == 0 &&
	    truncate_replaced(&l, jobs, njobs) == 0 && store_schema(&l) == 0 &&
	    load_jobs(&l, jobs, njobs) == 0)
		rc = 0;
out:
	if (rc == -1)
		ld_load_result_cleanup(out);
	if (jobs != NULL)
		ld_strv_free(jobs);
	free(tail);
	free(l.hash_hex);
	ld_schema_free(l.schema);
	return rc;
}

/* ------------------------------------------------------- restore */

/* The file of name__<newest load id>__... among v, or NULL. */
static const char *
newest(char **v, size_t n, const char *name)
{
	const char	*best = NULL, *best_id = "0";
	size_t		 nl = strlen(name);

	for (size_t i = 0; i < n; i++) {
		const char *base = strrchr(v[i], '/') + 1, *id;

		if (strncmp(base, name, nl) != 0 ||
		    strncmp(base + nl, SEP, 2) != 0)
			continue;
		id = base + nl + 2;
		/* dlt compares the load ids as text. */
		if (strstr(id, SEP) != NULL && strcmp(id, best_id) > 0) {
			best_id = id;
			best = v[i];
		}
	}
	return best;
}

static int
read_field(struct fsdest *d, const char *r, const char *field, char **out,
    char *err, size_t errlen)
{
	char	*text;
	size_t	 len;
	cJSON	*doc;
	int	 rc = st_get(d, r, &text, &len, err, errlen);

	if (rc == -1)
		return -1;
	doc = text != NULL ? cJSON_Parse(text) : NULL;
	if (cJSON_GetStringValue(cJSON_GetObjectItem(doc, field)) != NULL)
		*out = xstrdup(cJSON_GetStringValue(cJSON_GetObjectItem(doc,
		    field)));
	cJSON_Delete(doc);
	free(text);
	return 0;
}

static int
fs_restore(struct ld_dest *base, const char *dataset, const char *pipeline,
    const char *schema_name, char **state, char **schema, char *err,
    size_t errlen)
{
	struct fsdest	*d = (struct fsdest *)base;
	char		**v, *prefix;
	const char	*f;
	size_t		  n;
	int		  rc = 0;

	*state = *schema = NULL;
	prefix = xasprintf("%s/_dlt_pipeline_state/", dataset);
	rc = st_list(d, prefix, &v, &n, err, errlen);
	free(prefix);
	if (rc == -1)
		return -1;
	if ((f = newest(v, n, pipeline)) != NULL)
		rc = read_field(d, f, "state", state, err, errlen);
	ld_strv_free(v);
	if (rc == -1)
		return -1;
	prefix = xasprintf("%s/_dlt_version/", dataset);
	rc = st_list(d, prefix, &v, &n, err, errlen);
	free(prefix);
	if (rc == -1)
		return -1;
	if ((f = newest(v, n, schema_name)) != NULL)
		rc = read_field(d, f, "schema", schema, err, errlen);
	ld_strv_free(v);
	return rc;
}

static int
fs_exec(struct ld_dest *base, const char *sql, char *err, size_t errlen)
{
	(void)sql;
	return errorf(err, errlen, "destination %s is a filesystem: it runs "
	    "no SQL", ((struct fsdest *)base)->name);
}

static int
fs_query(struct ld_dest *base, const char *sql, ld_row_fn fn, void *arg,
    char *err, size_t errlen)
{
	(void)fn;
	(void)arg;
	return fs_exec(base, sql, err, errlen);
}

static int
fs_copy_job(struct ld_dest *base, const char *qualified_table,
    const struct ld_table *t, const char *path, long long *rows, char *err,
    size_t errlen)
{
	(void)qualified_table;
	(void)t;
	(void)path;
	(void)rows;
	return fs_exec(base, NULL, err, errlen);
}

/* Only the naming part: dlt's filesystem capabilities keep names up to
   the generic 65536 characters. */
static const struct ld_dialect fs_dialect = {
	.max_identifier_length = 65536,
	.truncate = "DELETE FROM",
};

const struct ld_dest_ops ld_filesystem_ops = {
	.type = "filesystem",
	.dialect = &fs_dialect,
	.open = fs_open,
	.close = fs_close,
	.exec = fs_exec,
	.query = fs_query,
	.copy_job = fs_copy_job,
	.load_package = fs_load_package,
	.restore = fs_restore,
};
