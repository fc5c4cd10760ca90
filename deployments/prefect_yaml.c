/*
 * prefect_yaml.c: validate a prefect.yaml and build its deployments.
 *
 * The rules are Prefect 3's: PrefectYamlModel and DeploymentConfig for
 * types (pydantic lax mode: "yes" is a bool, "3" an int, but 3 is not a
 * string), _handle_deprecated_schedule_fields for `schedule`, and
 * _run_single_deploy for which build/push/pull steps apply.  Checks that
 * Prefect only makes when it registers or runs a deployment (one key per
 * step, one schedule kind, a parsable interval, concurrency options)
 * are made here so they come with a file position.  Unknown keys are
 * ignored, as Prefect does, but reported as warnings.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "deployments/prefect_yaml.h"

#define MSG_MAX		1024
#define MAX_RRULE	6500

struct prefect_yaml {
	const struct yaml_doc	*doc;
	char			*file;
	const char		*name;
	const char		*version;
	cJSON			*bag;	/* per deployment: config and steps */
	struct pf_deployment	*deps;
	size_t			 n;
};

/* Validation state: messages collected while walking the document. */
struct vctx {
	const struct yaml_doc	*doc;
	const char		*file;
	struct pf_msgs		*warn;
	char			*errs;	/* errors, '\n'-separated */
	size_t			 errs_len;
	size_t			 nerr;
	int			 oom;
};

static const char *const top_keys[] = {
	"name", "prefect-version", "build", "push", "pull", "deployments",
	"definitions", NULL
};

static const char *const deployment_keys[] = {
	"name", "version", "version_type", "tags", "description", "schedule",
	"schedules", "paused", "concurrency_limit", "flow_name", "entrypoint",
	"parameters", "enforce_parameter_schema", "build", "push", "pull",
	"work_pool", "triggers", "sla", NULL
};

static const char *const work_pool_keys[] = {
	"name", "work_queue_name", "job_variables", NULL
};

static const char *const concurrency_keys[] = {
	"limit", "collision_strategy", "grace_period_seconds", NULL
};

static const char *const schedule_keys[] = {
	"cron", "interval", "rrule", "timezone", "anchor_date", "active",
	"parameters", "slug", "replaces", "day_or", NULL
};

/* ------------------------------------------------------------ messages */

static int
msgs_add(struct pf_msgs *m, const char *s)
{
	char	**v;

	if ((v = realloc(m->v, (m->n + 1) * sizeof(*v))) == NULL)
		return -1;
	m->v = v;
	if ((v[m->n] = strdup(s)) == NULL)
		return -1;
	m->n++;
	return 0;
}

void
prefect_yaml_msgs_free(struct pf_msgs *msgs)
{
	if (msgs == NULL)
		return;
	for (size_t i = 0; i < msgs->n; i++)
		free(msgs->v[i]);
	free(msgs->v);
	msgs->v = NULL;
	msgs->n = 0;
}

/* "file:line:col: path: " for node (its key when at_key). */
static int
locate(const struct vctx *v, const cJSON *node, int at_key,
    const char *path, char *buf, size_t len)
{
	int	 line, col, rc;

	rc = at_key ? yaml_doc_key_pos(v->doc, node, &line, &col) :
	    yaml_doc_pos(v->doc, node, &line, &col);
	if (rc == -1 && at_key)
		rc = yaml_doc_pos(v->doc, node, &line, &col);
	if (rc == 0)
		rc = snprintf(buf, len, "%s:%d:%d: ", v->file, line, col);
	else
		rc = snprintf(buf, len, "%s: ", v->file);
	if (path[0] != '\0' && rc >= 0 && (size_t)rc < len)
		rc += snprintf(buf + rc, len - (size_t)rc, "%s: ", path);
	return rc < 0 ? 0 : (size_t)rc >= len ? (int)len - 1 : rc;
}

static void
vmsg(struct vctx *v, int is_err, const cJSON *node, int at_key,
    const char *path, const char *fmt, va_list ap)
{
	char	 buf[MSG_MAX];
	int	 o = locate(v, node, at_key, path, buf, sizeof(buf));
	size_t	 len;
	char	*p;

	vsnprintf(buf + o, sizeof(buf) - (size_t)o, fmt, ap);
	if (!is_err) {
		if (v->warn != NULL && msgs_add(v->warn, buf) == -1)
			v->oom = 1;
		return;
	}
	v->nerr++;
	len = strlen(buf);
	if ((p = realloc(v->errs, v->errs_len + len + 2)) == NULL) {
		v->oom = 1;
		return;
	}
	v->errs = p;
	if (v->errs_len > 0)
		p[v->errs_len++] = '\n';
	memcpy(p + v->errs_len, buf, len + 1);
	v->errs_len += len;
}

static void
verr(struct vctx *v, const cJSON *node, const char *path, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
static void
verr_key(struct vctx *v, const cJSON *node, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void
vwarn(struct vctx *v, const cJSON *node, const char *path, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
verr(struct vctx *v, const cJSON *node, const char *path, const char *fmt,
    ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vmsg(v, 1, node, 0, path, fmt, ap);
	va_end(ap);
}

/* An error about a mapping key, placed at the key. */
static void
verr_key(struct vctx *v, const cJSON *node, const char *path,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vmsg(v, 1, node, 1, path, fmt, ap);
	va_end(ap);
}

/* Warnings point at the key, since they are about the key. */
static void
vwarn(struct vctx *v, const cJSON *node, const char *path, const char *fmt,
    ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vmsg(v, 0, node, 1, path, fmt, ap);
	va_end(ap);
}

/* path + "." + key, or key at the top. */
static const char *
sub(char *buf, size_t len, const char *path, const char *key)
{
	/* Over-long paths are cut; they only label messages. */
	if (snprintf(buf, len, "%s%s%s", path, path[0] ? "." : "", key) < 0)
		buf[0] = '\0';
	return buf;
}

static const char *
idx(char *buf, size_t len, const char *path, size_t i)
{
	if (snprintf(buf, len, "%s[%zu]", path, i) < 0)
		buf[0] = '\0';
	return buf;
}

/* ------------------------------------------------------------- helpers */

static const cJSON *
get(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ?
	    cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* Adds a copy (or item itself, when owned) to obj, tracking OOM. */
static void
put(struct vctx *v, cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL || obj == NULL ||
	    !cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		v->oom = 1;
	}
}

static void
put_copy(struct vctx *v, cJSON *obj, const char *key, const cJSON *item)
{
	put(v, obj, key, cJSON_Duplicate(item, 1));
}

static int
is_templated(const char *s)
{
	return s != NULL && strstr(s, "{{") != NULL;
}

/* A str field: strings only, and not a YAML timestamp. */
static int
str_ok(struct vctx *v, const cJSON *n, const char *path)
{
	if (cJSON_IsString(n) &&
	    !(yaml_doc_flags(v->doc, n) & YAML_NODE_TIMESTAMP))
		return 1;
	if (cJSON_IsString(n))
		verr(v, n, path, "must be a string; quote the date so YAML "
		    "does not read it as a timestamp");
	else
		verr(v, n, path, "must be a string");
	return 0;
}

/* Optional[str]: copied into norm when valid. */
static void
opt_str(struct vctx *v, const cJSON *obj, const char *key, const char *path,
    cJSON *norm)
{
	const cJSON	*n = get(obj, key);
	char		 p[256];

	if (n == NULL)
		return;
	if (cJSON_IsNull(n) || str_ok(v, n, sub(p, sizeof(p), path, key)))
		put_copy(v, norm, key, n);
}

/* pydantic's lax bool; -1 when n cannot be one. */
static int
lax_bool(const cJSON *n, int *b)
{
	static const char *const t[] = { "1", "on", "t", "true", "y", "yes" };
	static const char *const f[] = { "0", "off", "f", "false", "n", "no" };

	if (cJSON_IsBool(n))
		return *b = cJSON_IsTrue(n), 0;
	if (cJSON_IsNumber(n) && (n->valuedouble == 0 ||
	    n->valuedouble == 1))
		return *b = n->valuedouble == 1, 0;
	if (!cJSON_IsString(n))
		return -1;
	for (size_t i = 0; i < 6; i++) {
		if (strcasecmp(n->valuestring, t[i]) == 0)
			return *b = 1, 0;
		if (strcasecmp(n->valuestring, f[i]) == 0)
			return *b = 0, 0;
	}
	return -1;
}

/* pydantic's lax int: 3, 3.0, true, "3", " 1_000 ", "3.0". */
static int
lax_int(const cJSON *n, long long *out)
{
	const char	*s;
	long long	 v = 0;
	int		 neg = 0, digits = 0;

	if (cJSON_IsBool(n))
		return *out = cJSON_IsTrue(n), 0;
	if (cJSON_IsNumber(n))
		return n->valuedouble == floor(n->valuedouble) &&
		    fabs(n->valuedouble) < 9.2e18 ?
		    (*out = (long long)n->valuedouble, 0) : -1;
	if (!cJSON_IsString(n))
		return -1;
	s = n->valuestring + strspn(n->valuestring, " \t\n\r");
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; (*s >= '0' && *s <= '9') || (*s == '_' && digits); s++) {
		if (*s == '_')
			continue;
		if (v > 99999999999999999LL)
			return -1;
		v = v * 10 + (*s - '0');
		digits++;
	}
	if (*s == '.')
		for (s++; *s == '0'; s++)
			;
	s += strspn(s, " \t\n\r");
	if (!digits || *s != '\0')
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/* Optional[bool], coerced into norm. */
static void
opt_bool(struct vctx *v, const cJSON *obj, const char *key, const char *path,
    cJSON *norm)
{
	const cJSON	*n = get(obj, key);
	char		 p[256];
	int		 b;

	if (n == NULL)
		return;
	if (cJSON_IsNull(n))
		put(v, norm, key, cJSON_CreateNull());
	else if (lax_bool(n, &b) == 0)
		put(v, norm, key, cJSON_CreateBool(b));
	else
		verr(v, n, sub(p, sizeof(p), path, key), "must be a boolean");
}

/* Dict[str, Any]: a mapping whose keys were strings in the YAML. */
static int
str_map_ok(struct vctx *v, const cJSON *n, const char *path)
{
	char	 p[256];
	int	 ok = 1;

	if (!cJSON_IsObject(n)) {
		verr(v, n, path, "must be a mapping");
		return 0;
	}
	for (const cJSON *c = n->child; c != NULL; c = c->next) {
		if (yaml_doc_flags(v->doc, c) & YAML_NODE_KEY_NONSTR) {
			verr_key(v, c, sub(p, sizeof(p), path, c->string),
			    "keys must be strings");
			ok = 0;
		}
	}
	return ok;
}

static void
warn_unknown(struct vctx *v, const cJSON *obj, const char *path,
    const char *const *known, const char *what)
{
	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		size_t	 i;

		for (i = 0; known[i] != NULL; i++)
			if (strcmp(c->string, known[i]) == 0)
				break;
		if (known[i] == NULL)
			vwarn(v, c, path, "unknown %s key '%s' is ignored",
			    what, c->string);
	}
}

/* --------------------------------------------------------------- steps */

static void
check_step(struct vctx *v, const cJSON *step, const char *path)
{
	const cJSON	*fn;
	char		 p[256];

	if (!cJSON_IsObject(step)) {
		verr(v, step, path, "a step must be a mapping");
		return;
	}
	if ((fn = step->child) == NULL) {
		vwarn(v, step, path, "empty step is skipped");
		return;
	}
	if (fn->next != NULL) {
		verr(v, step, path, "a step must have exactly one key (the "
		    "function to run), found %d", cJSON_GetArraySize(step));
		return;
	}
	sub(p, sizeof(p), path, fn->string);
	if (yaml_doc_flags(v->doc, fn) & YAML_NODE_KEY_NONSTR)
		verr_key(v, fn, p, "the step name must be a string");
	else if (strchr(fn->string, '.') == NULL &&
	    strchr(fn->string, ':') == NULL)
		verr_key(v, fn, p, "the step name must be a fully qualified "
		    "function name such as prefect.deployments.steps."
		    "git_clone");
	if (!cJSON_IsObject(fn))
		verr(v, fn, p, "step inputs must be a mapping");
	else
		str_map_ok(v, fn, p);
}

/*
 * build/push/pull: null, a list of steps, or one step mapping (wrapped
 * into a list; an empty mapping is kept as is, as Prefect does).
 * Returns the normalised copy, or NULL after reporting an error.
 */
static cJSON *
check_steps(struct vctx *v, const cJSON *n, const char *path)
{
	cJSON	*list, *c;
	char	 p[256];
	size_t	 i = 0;

	if (cJSON_IsObject(n) && n->child != NULL) {
		check_step(v, n, idx(p, sizeof(p), path, 0));
		list = cJSON_CreateArray();
		c = cJSON_Duplicate(n, 1);
		if (c == NULL || !cJSON_AddItemToArray(list, c)) {
			cJSON_Delete(c);
			cJSON_Delete(list);
			v->oom = 1;
			return NULL;
		}
		return list;
	}
	if (!cJSON_IsNull(n) && !cJSON_IsObject(n) && !cJSON_IsArray(n)) {
		verr(v, n, path, "must be a list of steps or a single step "
		    "mapping");
		return NULL;
	}
	for (const cJSON *s = n->child; s != NULL; s = s->next, i++)
		check_step(v, s, idx(p, sizeof(p), path, i));
	if ((c = cJSON_Duplicate(n, 1)) == NULL)
		v->oom = 1;
	return c;
}

static void
opt_steps(struct vctx *v, const cJSON *obj, const char *key,
    const char *path, cJSON *norm)
{
	const cJSON	*n = get(obj, key);
	char		 p[256];
	cJSON		*c;

	if (n == NULL)
		return;
	if ((c = check_steps(v, n, sub(p, sizeof(p), path, key))) != NULL)
		put(v, norm, key, c);
}

/* ------------------------------------------------------ dates and time */

static int
take(const char *s, size_t *i, int n, int *out)
{
	*out = 0;
	for (int k = 0; k < n; k++, (*i)++) {
		if (s[*i] < '0' || s[*i] > '9')
			return -1;
		*out = *out * 10 + (s[*i] - '0');
	}
	return 0;
}

static int
month_days(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

struct when {
	int	 y, mo, d, h, mi, s, us, off, has_tz;
};

static int
parse_date(const char *s, size_t *i, struct when *w)
{
	if (take(s, i, 4, &w->y) == -1)
		return -1;
	if (s[*i] == '-') {
		(*i)++;
		if (take(s, i, 2, &w->mo) == -1 || s[(*i)++] != '-')
			return -1;
	} else if (take(s, i, 2, &w->mo) == -1)
		return -1;
	return take(s, i, 2, &w->d);
}

static int
parse_time(const char *s, size_t *i, struct when *w)
{
	int	 scale = 100000;

	if (take(s, i, 2, &w->h) == -1)
		return -1;
	if (s[*i] == ':') {
		(*i)++;
		if (take(s, i, 2, &w->mi) == -1)
			return -1;
		if (s[*i] == ':' && ((*i)++, take(s, i, 2, &w->s) == -1))
			return -1;
	} else if (s[*i] >= '0' && s[*i] <= '9') {
		if (take(s, i, 2, &w->mi) == -1 || take(s, i, 2, &w->s) == -1)
			return -1;
	}
	if (s[*i] == '.' || s[*i] == ',') {
		if (s[++(*i)] < '0' || s[*i] > '9')
			return -1;
		for (; s[*i] >= '0' && s[*i] <= '9'; (*i)++, scale /= 10)
			w->us += (s[*i] - '0') * scale;
	}
	return 0;
}

static int
parse_offset(const char *s, size_t *i, struct when *w)
{
	int	 sign, hh, mm = 0;

	if (s[*i] == '\0')
		return 0;
	w->has_tz = 1;
	if (s[*i] == 'Z')
		return s[++(*i)] == '\0' ? 0 : -1;
	if (s[*i] != '+' && s[*i] != '-')
		return -1;
	sign = s[(*i)++] == '-' ? -1 : 1;
	if (take(s, i, 2, &hh) == -1)
		return -1;
	if (s[*i] == ':')
		(*i)++;
	if (s[*i] != '\0' && take(s, i, 2, &mm) == -1)
		return -1;
	w->off = sign * (hh * 60 + mm);
	return s[*i] == '\0' ? 0 : -1;
}

/*
 * An anchor date as pendulum.parse reads the usual ISO 8601 forms,
 * printed as Prefect's JSON shows it: naive times are UTC ("Z").
 */
static int
normalize_anchor(const char *s, char *out, size_t len)
{
	struct when	 w;
	size_t		 i = 0;
	int		 o;

	memset(&w, 0, sizeof(w));
	if (parse_date(s, &i, &w) == -1)
		return -1;
	if (s[i] == 'T' || s[i] == ' ') {
		i++;
		if (parse_time(s, &i, &w) == -1)
			return -1;
	}
	if (parse_offset(s, &i, &w) == -1 || w.y < 1 || w.mo < 1 ||
	    w.mo > 12 || w.d < 1 || w.d > month_days(w.y, w.mo) || w.h > 23 ||
	    w.mi > 59 || w.s > 59 || w.off <= -1440 || w.off >= 1440)
		return -1;
	o = snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d", w.y, w.mo,
	    w.d, w.h, w.mi, w.s);
	if (w.us)
		o += snprintf(out + o, len - (size_t)o, ".%06d", w.us);
	if (w.off == 0)
		snprintf(out + o, len - (size_t)o, "Z");
	else
		snprintf(out + o, len - (size_t)o, "%c%02d:%02d",
		    w.off < 0 ? '-' : '+', abs(w.off) / 60, abs(w.off) % 60);
	return 0;
}

/* One ISO 8601 number + designator; *unit is the letter. */
static int
iso_part(const char **s, double *num, char *unit)
{
	char	*end;

	if (**s < '0' || **s > '9')
		return -1;
	*num = strtod(*s, &end);
	if (*end == ',')
		return -1;
	*unit = *end;
	*s = end + (*end != '\0');
	return *unit == '\0' ? -1 : 0;
}

static int
iso_duration(const char *s, double *secs)
{
	int	 in_time = 0, any = 0;
	double	 n;
	char	 u;

	*secs = 0;
	for (s++; *s != '\0'; any = 1) {
		if (*s == 'T' && !in_time) {
			in_time = 1;
			s++;
			continue;
		}
		if (iso_part(&s, &n, &u) == -1)
			return -1;
		if (!in_time && u == 'Y')
			*secs += n * 365 * 86400;
		else if (!in_time && u == 'M')
			*secs += n * 30 * 86400;
		else if (!in_time && u == 'W')
			*secs += n * 7 * 86400;
		else if (!in_time && u == 'D')
			*secs += n * 86400;
		else if (in_time && u == 'H')
			*secs += n * 3600;
		else if (in_time && u == 'M')
			*secs += n * 60;
		else if (in_time && u == 'S')
			*secs += n;
		else
			return -1;
	}
	return any && !(in_time && s[-1] == 'T' && *secs == 0 &&
	    s[-2] == 'P') ? 0 : -1;
}

/* "[D d|day|days[,]] [HH:MM[:SS[.f]]]". */
static int
clock_duration(const char *s, double *secs)
{
	char	*end;
	double	 days = 0, h, m, sec = 0;

	*secs = 0;
	if (strchr(s, ':') == NULL || strchr(s, 'd') != NULL) {
		days = strtod(s, &end);
		if (end == s || *s < '0' || *s > '9')
			return -1;
		s = end + strspn(end, " ");
		if (strncmp(s, "days", 4) == 0)
			s += 4;
		else if (strncmp(s, "day", 3) == 0)
			s += 3;
		else if (*s == 'd')
			s++;
		else
			return -1;
		s += strspn(s, ", ");
		if (*s == '\0')
			return *secs = days * 86400, 0;
	}
	h = strtod(s, &end);
	if (end == s || *s < '0' || *s > '9' || *end != ':')
		return -1;
	s = end + 1;
	m = strtod(s, &end);
	if (end == s || *s < '0' || *s > '9' || m >= 60 ||
	    (*end != ':' && *end != '\0') ||
	    memchr(s, '.', (size_t)(end - s)) != NULL)
		return -1;
	if (*end == ':') {
		s = end + 1;
		sec = strtod(s, &end);
		if (end == s || *s < '0' || *s > '9' || sec >= 60 ||
		    *end != '\0')
			return -1;
	}
	*secs = days * 86400 + h * 3600 + m * 60 + sec;
	return 0;
}

int
prefect_yaml_duration(const char *s, double *secs)
{
	int	 neg = 0, rc;

	if (s == NULL || *s == '\0')
		return -1;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strchr(s, 'e') != NULL || strchr(s, 'E') != NULL ||
	    strchr(s, 'x') != NULL || strchr(s, 'n') != NULL)
		return -1;
	rc = *s == 'P' ? iso_duration(s, secs) : clock_duration(s, secs);
	if (rc == 0 && neg)
		*secs = -*secs;
	return rc;
}

/* An interval value: number of seconds or a duration string. */
static int
interval_secs(const cJSON *n, double *secs)
{
	if (cJSON_IsBool(n))
		return *secs = cJSON_IsTrue(n), 0;
	if (cJSON_IsNumber(n))
		return *secs = n->valuedouble, isfinite(*secs) ? 0 : -1;
	if (cJSON_IsString(n))
		return prefect_yaml_duration(n->valuestring, secs);
	return -1;
}

/* croniter-like shape check; ranges are left to the server. */
static int
cron_ok(const char *s, const char **why)
{
	static const char *const alias[] = { "@yearly", "@annually",
	    "@monthly", "@weekly", "@daily", "@midnight", "@hourly", NULL };
	char	*copy, *f, *save = NULL;
	int	 n = 0, ok = 1;

	*why = "invalid cron string";
	if (s[0] == '@') {
		for (size_t i = 0; alias[i] != NULL; i++)
			if (strcmp(s, alias[i]) == 0)
				return 1;
		return 0;
	}
	if ((copy = strdup(s)) == NULL)
		return 0;
	for (f = strtok_r(copy, " \t", &save); f != NULL;
	    f = strtok_r(NULL, " \t", &save), n++) {
		if (strcasecmp(f, "R") == 0 || strcasecmp(f, "H") == 0) {
			*why = "random and hashed cron expressions are "
			    "unsupported";
			ok = 0;
		}
		if (f[strspn(f, "0123456789abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ*/,-?#")] != '\0')
			ok = 0;
	}
	free(copy);
	return ok && n >= 5 && n <= 7;
}

/* ----------------------------------------------------------- schedules */

/* Union[bool, str] fields: active, day_or.  Numbers 0/1 become bools. */
static void
bool_or_str(struct vctx *v, const cJSON *item, const char *key,
    const char *path, cJSON *norm)
{
	const cJSON	*n = get(item, key);
	char		 p[256];
	int		 b;

	if (n == NULL)
		return;
	sub(p, sizeof(p), path, key);
	if (cJSON_IsNull(n) || cJSON_IsBool(n))
		put_copy(v, norm, key, n);
	else if (cJSON_IsString(n)) {
		if (!is_templated(n->valuestring) && lax_bool(n, &b) == -1)
			verr(v, n, p, "must be a boolean");
		put_copy(v, norm, key, n);
	} else if (lax_bool(n, &b) == 0)
		put(v, norm, key, cJSON_CreateBool(b));
	else
		verr(v, n, p, "must be a boolean");
}

static const char *
schedule_kind(const cJSON *item)
{
	const char	*kinds[] = { "cron", "interval", "rrule" }, *k = NULL;
	int		 n = 0;

	for (size_t i = 0; i < 3; i++) {
		const cJSON *c = get(item, kinds[i]);

		if (c != NULL && !cJSON_IsNull(c)) {
			k = kinds[i];
			n++;
		}
	}
	return n == 1 ? k : NULL;
}

static void
check_interval(struct vctx *v, const cJSON *n, const char *path,
    cJSON *norm)
{
	char	 p[256];
	double	 secs;
	cJSON	*num;

	sub(p, sizeof(p), path, "interval");
	if (interval_secs(n, &secs) == -1) {
		verr(v, n, p, "must be a number of seconds, an ISO 8601 "
		    "duration (PT10M) or HH:MM:SS");
		return;
	}
	if (secs <= 0) {
		verr(v, n, p, "must be greater than zero");
		return;
	}
	if ((num = cJSON_CreateNumber(secs)) != NULL)
		num->type |= YAML_CJSON_FLOAT;
	put(v, norm, "interval", num);
}

static void
check_schedule_string(struct vctx *v, const cJSON *item, const char *kind,
    const char *path)
{
	const cJSON	*n = get(item, kind);
	char		 p[256];
	const char	*why;

	sub(p, sizeof(p), path, kind);
	if (!cJSON_IsString(n) || is_templated(n->valuestring))
		return;
	if (n->valuestring[0] == '\0')
		verr(v, n, p, "must not be empty");
	else if (strcmp(kind, "cron") == 0 && !cron_ok(n->valuestring, &why))
		verr(v, n, p, "%s: \"%s\"", why, n->valuestring);
	else if (strcmp(kind, "rrule") == 0 &&
	    strlen(n->valuestring) > MAX_RRULE)
		verr(v, n, p, "is longer than %d characters", MAX_RRULE);
}

/* Extras that only mean something for one kind are ignored by Prefect. */
static void
check_schedule_extras(struct vctx *v, const cJSON *item, const char *kind,
    const char *path)
{
	const cJSON	*a = get(item, "anchor_date"), *d = get(item, "day_or");
	char		 p[256], buf[64];

	if (a != NULL && !cJSON_IsNull(a) && strcmp(kind, "interval") != 0)
		vwarn(v, a, path, "anchor_date only applies to interval "
		    "schedules and is ignored");
	else if (cJSON_IsString(a) && !is_templated(a->valuestring) &&
	    a->valuestring[0] != '\0' &&
	    normalize_anchor(a->valuestring, buf, sizeof(buf)) == -1)
		verr(v, a, sub(p, sizeof(p), path, "anchor_date"), "is not an "
		    "ISO 8601 date-time: \"%s\"", a->valuestring);
	if (d != NULL && !cJSON_IsNull(d) && strcmp(kind, "cron") != 0)
		vwarn(v, d, path, "day_or only applies to cron schedules and "
		    "is ignored");
}

static cJSON *
check_schedule(struct vctx *v, const cJSON *item, const char *path)
{
	static const char *const strs[] = { "cron", "rrule", "timezone",
	    "anchor_date", "slug", "replaces" };
	const cJSON	*params;
	const char	*kind;
	cJSON		*norm;
	char		 p[256];

	if (!cJSON_IsObject(item)) {
		verr(v, item, path, "a schedule must be a mapping");
		return NULL;
	}
	if ((norm = cJSON_CreateObject()) == NULL)
		return v->oom = 1, NULL;
	for (const cJSON *c = item->child; c != NULL; c = c->next) {
		size_t i;

		for (i = 0; schedule_keys[i] && strcmp(c->string,
		    schedule_keys[i]); i++)
			;
		if (schedule_keys[i] == NULL)
			verr_key(v, c, sub(p, sizeof(p), path, c->string),
			    "unknown schedule key");
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		opt_str(v, item, strs[i], path, norm);
	if (get(item, "interval") && !cJSON_IsNull(get(item, "interval")))
		check_interval(v, get(item, "interval"), path, norm);
	bool_or_str(v, item, "active", path, norm);
	bool_or_str(v, item, "day_or", path, norm);
	if ((params = get(item, "parameters")) != NULL &&
	    str_map_ok(v, params, sub(p, sizeof(p), path, "parameters")))
		put_copy(v, norm, "parameters", params);
	if ((kind = schedule_kind(item)) == NULL)
		verr(v, item, path, "exactly one of cron, interval, rrule is "
		    "required");
	else {
		check_schedule_string(v, item, kind, path);
		check_schedule_extras(v, item, kind, path);
	}
	return norm;
}

/* schedules (list) and the deprecated single schedule. */
static void
check_schedules(struct vctx *v, const cJSON *dep, const char *path,
    cJSON *norm)
{
	const cJSON	*one = get(dep, "schedule");
	const cJSON	*list = get(dep, "schedules");
	cJSON		*out;
	char		 p[256], q[256];
	size_t		 i = 0;

	if (one != NULL && !cJSON_IsNull(one) && !cJSON_IsObject(one))
		verr(v, one, sub(p, sizeof(p), path, "schedule"),
		    "a schedule must be a mapping");
	if (cJSON_IsObject(one) && one->child != NULL && list != NULL) {
		verr(v, one, sub(p, sizeof(p), path, "schedule"), "both "
		    "'schedule' and 'schedules' are present; use only "
		    "'schedules'");
		return;
	}
	if (cJSON_IsObject(one) && one->child != NULL) {
		cJSON *c = check_schedule(v, one, sub(p, sizeof(p), path,
		    "schedule"));

		out = cJSON_CreateArray();
		if (c != NULL && !cJSON_AddItemToArray(out, c)) {
			cJSON_Delete(c);
			v->oom = 1;
		}
		put(v, norm, "schedules", out);
		return;
	}
	if (list == NULL)
		return;
	sub(p, sizeof(p), path, "schedules");
	if (cJSON_IsNull(list)) {
		put(v, norm, "schedules", cJSON_CreateNull());
		return;
	}
	if (!cJSON_IsArray(list)) {
		verr(v, list, p, "must be a list of schedules");
		return;
	}
	out = cJSON_CreateArray();
	for (const cJSON *s = list->child; s != NULL; s = s->next, i++) {
		cJSON *c = check_schedule(v, s, idx(q, sizeof(q), p, i));

		if (c != NULL && !cJSON_AddItemToArray(out, c)) {
			cJSON_Delete(c);
			v->oom = 1;
		}
	}
	put(v, norm, "schedules", out);
}

/* ------------------------------------------------------ other sections */

static int
strategy_ok(const char *s)
{
	return strcmp(s, "ENQUEUE") == 0 || strcmp(s, "CANCEL_NEW") == 0;
}

static void
check_concurrency_spec(struct vctx *v, const cJSON *n, const char *path,
    cJSON *norm)
{
	const cJSON	*lim = get(n, "limit"), *cs;
	const cJSON	*grace = get(n, "grace_period_seconds");
	long long	 x;
	char		 p[256];

	warn_unknown(v, n, path, concurrency_keys, "concurrency_limit");
	if (lim != NULL && cJSON_IsNull(lim))
		put(v, norm, "limit", cJSON_CreateNull());
	else if (lim != NULL && lax_int(lim, &x) == 0)
		put(v, norm, "limit", cJSON_CreateNumber((double)x));
	else if (lim != NULL)
		verr(v, lim, sub(p, sizeof(p), path, "limit"),
		    "must be an integer");
	cs = get(n, "collision_strategy");
	sub(p, sizeof(p), path, "collision_strategy");
	if (cs == NULL || cJSON_IsNull(cs))
		verr(v, n, path, "collision_strategy is required (ENQUEUE or "
		    "CANCEL_NEW)");
	else if (str_ok(v, cs, p) && !is_templated(cs->valuestring) &&
	    !strategy_ok(cs->valuestring))
		verr(v, cs, p, "must be ENQUEUE or CANCEL_NEW");
	else if (cJSON_IsString(cs))
		put_copy(v, norm, "collision_strategy", cs);
	sub(p, sizeof(p), path, "grace_period_seconds");
	if (grace == NULL || cJSON_IsNull(grace))
		return;
	if (lax_int(grace, &x) == -1)
		verr(v, grace, p, "must be an integer");
	else if (x < 60 || x > 86400)
		verr(v, grace, p, "must be between 60 and 86400");
	else
		put(v, norm, "grace_period_seconds",
		    cJSON_CreateNumber((double)x));
}

static void
check_concurrency(struct vctx *v, const cJSON *dep, const char *path,
    cJSON *norm)
{
	const cJSON	*n = get(dep, "concurrency_limit");
	char		 p[256];
	long long	 x;
	cJSON		*spec;

	if (n == NULL)
		return;
	sub(p, sizeof(p), path, "concurrency_limit");
	if (cJSON_IsNull(n))
		put(v, norm, "concurrency_limit", cJSON_CreateNull());
	else if (cJSON_IsObject(n)) {
		spec = cJSON_CreateObject();
		check_concurrency_spec(v, n, p, spec);
		put(v, norm, "concurrency_limit", spec);
	} else if (lax_int(n, &x) == 0)
		put(v, norm, "concurrency_limit",
		    cJSON_CreateNumber((double)x));
	else
		verr(v, n, p, "must be an integer or a mapping with limit, "
		    "collision_strategy and grace_period_seconds");
}

static void
check_work_pool(struct vctx *v, const cJSON *dep, const char *path,
    cJSON *norm)
{
	const cJSON	*n = get(dep, "work_pool"), *jv;
	char		 p[256], q[256];
	cJSON		*wp;

	if (n == NULL)
		return;
	sub(p, sizeof(p), path, "work_pool");
	if (cJSON_IsNull(n)) {
		put(v, norm, "work_pool", cJSON_CreateNull());
		return;
	}
	if (!cJSON_IsObject(n)) {
		verr(v, n, p, "must be a mapping");
		return;
	}
	warn_unknown(v, n, p, work_pool_keys, "work_pool");
	wp = cJSON_CreateObject();
	opt_str(v, n, "name", p, wp);
	opt_str(v, n, "work_queue_name", p, wp);
	if ((jv = get(n, "job_variables")) != NULL &&
	    str_map_ok(v, jv, sub(q, sizeof(q), p, "job_variables")))
		put_copy(v, wp, "job_variables", jv);
	put(v, norm, "work_pool", wp);
}

static void
check_tags(struct vctx *v, const cJSON *dep, const char *path, cJSON *norm)
{
	const cJSON	*n = get(dep, "tags");
	char		 p[256];

	if (n == NULL)
		return;
	sub(p, sizeof(p), path, "tags");
	if (cJSON_IsNull(n) || cJSON_IsArray(n) ||
	    (cJSON_IsString(n) && str_ok(v, n, p)))
		put_copy(v, norm, "tags", n);
	else if (!cJSON_IsString(n))
		verr(v, n, p, "must be a list or a templated string");
}

/* A list of mappings (triggers) or a list (sla), or null. */
static void
opt_list(struct vctx *v, const cJSON *dep, const char *key, int maps,
    const char *path, cJSON *norm)
{
	const cJSON	*n = get(dep, key);
	char		 p[256], q[256];
	size_t		 i = 0;

	if (n == NULL)
		return;
	sub(p, sizeof(p), path, key);
	if (!cJSON_IsNull(n) && !cJSON_IsArray(n)) {
		verr(v, n, p, "must be a list");
		return;
	}
	for (const cJSON *c = n->child; maps && c != NULL; c = c->next, i++)
		if (!cJSON_IsObject(c))
			verr(v, c, idx(q, sizeof(q), p, i),
			    "must be a mapping");
	put_copy(v, norm, key, n);
}

/* ----------------------------------------------------------- deployment */

static cJSON *
check_deployment(struct vctx *v, const cJSON *dep, const char *path)
{
	static const char *const strs[] = { "name", "version", "version_type",
	    "description", "flow_name", "entrypoint" };
	const cJSON	*n;
	cJSON		*norm;
	char		 p[256];

	if (!cJSON_IsObject(dep)) {
		verr(v, dep, path, "a deployment must be a mapping");
		return NULL;
	}
	if ((norm = cJSON_CreateObject()) == NULL)
		return v->oom = 1, NULL;
	warn_unknown(v, dep, path, deployment_keys, "deployment");
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		opt_str(v, dep, strs[i], path, norm);
	/* prefect init writes "name: null"; prefect deploy skips those. */
	n = get(dep, "name");
	if (n == NULL || cJSON_IsNull(n) || (cJSON_IsString(n) &&
	    n->valuestring[0] == '\0'))
		vwarn(v, n ? n : dep, path, "deployment has no name; prefect "
		    "deploy skips it unless a name is given");
	check_tags(v, dep, path, norm);
	check_schedules(v, dep, path, norm);
	opt_bool(v, dep, "paused", path, norm);
	opt_bool(v, dep, "enforce_parameter_schema", path, norm);
	check_concurrency(v, dep, path, norm);
	if ((n = get(dep, "parameters")) != NULL &&
	    str_map_ok(v, n, sub(p, sizeof(p), path, "parameters")))
		put_copy(v, norm, "parameters", n);
	opt_steps(v, dep, "build", path, norm);
	opt_steps(v, dep, "push", path, norm);
	opt_steps(v, dep, "pull", path, norm);
	check_work_pool(v, dep, path, norm);
	opt_list(v, dep, "triggers", 1, path, norm);
	opt_list(v, dep, "sla", 0, path, norm);
	return norm;
}

/* ----------------------------------------------------- effective steps */

static int
nonempty(const cJSON *n)
{
	return cJSON_IsArray(n) && n->child != NULL;
}

static cJSON *
copy_or_empty(const cJSON *n)
{
	return nonempty(n) ? cJSON_Duplicate(n, 1) : cJSON_CreateArray();
}

/*
 * _run_single_deploy's choices: a deployment's build (even null) hides
 * the top-level one; an empty push falls back to the top-level push;
 * pull: [] means none, an empty or null pull falls back to the top
 * level and then to Prefect's generated default.
 */
static enum pf_pull_mode
effective_steps(struct vctx *v, const cJSON *dep, const cJSON *top,
    cJSON *bag)
{
	const cJSON	*dv = get(dep, "pull"), *tv = get(top, "pull");
	const cJSON	*eff = dv ? dv : tv, *pick = NULL;
	const cJSON	*b = get(dep, "build") ? get(dep, "build") :
			    get(top, "build");
	const cJSON	*p = get(dep, "push");
	enum pf_pull_mode mode = PF_PULL_DEFAULT;

	put(v, bag, "build", copy_or_empty(b));
	put(v, bag, "push", copy_or_empty(nonempty(p) ? p : get(top, "push")));
	if (cJSON_IsArray(eff) && eff->child == NULL)
		mode = PF_PULL_NONE;
	else if (nonempty(eff))
		pick = eff;
	else if (nonempty(tv))
		pick = tv;
	if (pick != NULL)
		mode = PF_PULL_STEPS;
	put(v, bag, "pull", copy_or_empty(pick));
	return mode;
}

/* -------------------------------------------------------------- loading */

static const char *
str_of(const cJSON *obj, const char *key)
{
	const cJSON *n = get(obj, key);

	return cJSON_IsString(n) ? n->valuestring : NULL;
}

static void
fill_deployment(struct vctx *v, struct pf_deployment *d, size_t i,
    const cJSON *node, cJSON *bag, const cJSON *top)
{
	const cJSON	*cfg = get(bag, "config"), *wp = get(cfg, "work_pool");

	d->index = i;
	d->node = node;
	d->config = cfg;
	d->name = str_of(cfg, "name");
	d->entrypoint = str_of(cfg, "entrypoint");
	d->flow_name = str_of(cfg, "flow_name");
	d->version = str_of(cfg, "version");
	d->version_type = str_of(cfg, "version_type");
	d->description = str_of(cfg, "description");
	d->work_pool_name = str_of(wp, "name");
	d->work_queue_name = str_of(wp, "work_queue_name");
	d->pull_mode = effective_steps(v, cfg, top, bag);
	d->build_steps = get(bag, "build");
	d->push_steps = get(bag, "push");
	d->pull_steps = get(bag, "pull");
}

static void
check_top(struct vctx *v, const cJSON *root, cJSON *top)
{
	opt_str(v, root, "name", "", top);
	opt_str(v, root, "prefect-version", "", top);
	opt_steps(v, root, "build", "", top);
	opt_steps(v, root, "push", "", top);
	opt_steps(v, root, "pull", "", top);
	warn_unknown(v, root, "", top_keys, "top-level");
}

/* Validates every deployment into py->bag; returns the list or NULL. */
static const cJSON *
check_deployments(struct vctx *v, const cJSON *root, struct prefect_yaml *py)
{
	const cJSON	*list = get(root, "deployments");
	char		 p[64];
	size_t		 i = 0;

	if (list == NULL)
		return NULL;
	if (!cJSON_IsArray(list)) {
		verr(v, list, "deployments", "must be a list");
		return NULL;
	}
	for (const cJSON *d = list->child; d != NULL; d = d->next, i++) {
		cJSON	*bag = cJSON_CreateObject(), *cfg;

		cfg = check_deployment(v, d, idx(p, sizeof(p), "deployments",
		    i));
		if (cfg != NULL)
			put(v, bag, "config", cfg);
		if (bag == NULL || !cJSON_AddItemToArray(py->bag, bag)) {
			cJSON_Delete(bag);
			v->oom = 1;
		}
	}
	return list;
}

static void
warn_duplicates(struct vctx *v, const struct prefect_yaml *py)
{
	char	 p[64];

	for (size_t i = 0; i < py->n; i++)
		for (size_t j = 0; j < i; j++)
			if (py->deps[i].name && py->deps[j].name &&
			    strcmp(py->deps[i].name, py->deps[j].name) == 0) {
				vwarn(v, get(py->deps[i].node, "name"),
				    idx(p, sizeof(p), "deployments", i),
				    "deployment name '%s' is also used by "
				    "deployments[%zu]", py->deps[i].name, j);
				break;
			}
}

static int
build_deployments(struct vctx *v, struct prefect_yaml *py,
    const cJSON *list, const cJSON *top)
{
	size_t		 n = (size_t)cJSON_GetArraySize(py->bag), i = 0;
	const cJSON	*d = list ? list->child : NULL;

	if (n > 0 && (py->deps = calloc(n, sizeof(*py->deps))) == NULL)
		return -1;
	for (cJSON *bag = py->bag->child; bag != NULL && d != NULL;
	    bag = bag->next, d = d->next, i++)
		fill_deployment(v, &py->deps[i], i, d, bag, top);
	py->n = i;
	warn_duplicates(v, py);
	return v->oom ? -1 : 0;
}

static void
finish_errors(struct vctx *v, char *err, size_t errlen)
{
	if (v->oom)
		errorf(err, errlen, "%s: out of memory", v->file);
	else
		errorf(err, errlen, "%s", v->errs ? v->errs : "invalid file");
}

int
prefect_yaml_load(const struct yaml_doc *doc, const char *file,
    struct prefect_yaml **out, struct pf_msgs *warn, char *err,
    size_t errlen)
{
	struct vctx		 v = { doc, file ? file : "prefect.yaml", warn,
				    NULL, 0, 0, 0 };
	const cJSON		*root = yaml_doc_root(doc), *list = NULL;
	struct prefect_yaml	*py;
	cJSON			*top = cJSON_CreateObject();

	*out = NULL;
	if ((py = calloc(1, sizeof(*py))) == NULL || top == NULL ||
	    (py->file = strdup(v.file)) == NULL ||
	    (py->bag = cJSON_CreateArray()) == NULL)
		v.oom = 1;
	else if (cJSON_IsNull(root))
		vwarn(&v, root, "", "the file is empty");
	else if (!cJSON_IsObject(root))
		verr(&v, root, "", "the file must be a mapping");
	else {
		check_top(&v, root, top);
		list = check_deployments(&v, root, py);
	}
	if (v.nerr == 0 && !v.oom && build_deployments(&v, py, list, top))
		v.oom = 1;
	if (v.nerr > 0 || v.oom) {
		finish_errors(&v, err, errlen);
		free(v.errs);
		cJSON_Delete(top);
		prefect_yaml_free(py);
		return -1;
	}
	py->doc = doc;
	py->name = str_of(root, "name");
	py->version = str_of(root, "prefect-version");
	cJSON_Delete(top);
	*out = py;
	return 0;
}

void
prefect_yaml_free(struct prefect_yaml *py)
{
	if (py == NULL)
		return;
	cJSON_Delete(py->bag);
	free(py->deps);
	free(py->file);
	free(py);
}

const char *
prefect_yaml_name(const struct prefect_yaml *py)
{
	return py->name;
}

const char *
prefect_yaml_prefect_version(const struct prefect_yaml *py)
{
	return py->version;
}

size_t
prefect_yaml_count(const struct prefect_yaml *py)
{
	return py->n;
}

const struct pf_deployment *
prefect_yaml_deployment(const struct prefect_yaml *py, size_t i)
{
	return i < py->n ? &py->deps[i] : NULL;
}

const struct pf_deployment *
prefect_yaml_find(const struct prefect_yaml *py, const char *name)
{
	for (size_t i = 0; i < py->n; i++)
		if (py->deps[i].name && strcmp(py->deps[i].name, name) == 0)
			return &py->deps[i];
	return NULL;
}

int
prefect_yaml_check_deployable(const struct prefect_yaml *py,
    const struct pf_deployment *d, char *err, size_t errlen)
{
	struct vctx	 v = { py->doc, py->file, NULL, NULL, 0, 0, 0 };
	char		 p[64];
	int		 rc = 0;

	idx(p, sizeof(p), "deployments", d->index);
	if (d->name == NULL || d->name[0] == '\0')
		verr(&v, d->node, p, "a deployment name is required");
	if (d->entrypoint == NULL || d->entrypoint[0] == '\0')
		verr(&v, d->node, p, "an entrypoint is required to deploy "
		    "(path/to/file.py:flow_function)");
	if (v.nerr > 0) {
		finish_errors(&v, err, errlen);
		rc = -1;
	}
	free(v.errs);
	return rc;
}

/* ------------------------------------------------------- request bodies */

/* Adds item to obj, or frees it. */
static void
add(cJSON *obj, const char *key, cJSON *item)
{
	if (obj == NULL || item == NULL ||
	    !cJSON_AddItemToObject(obj, key, item))
		cJSON_Delete(item);
}

/* obj if it holds all n members, else NULL after freeing it. */
static cJSON *
complete(cJSON *obj, int n, char *err, size_t errlen)
{
	if (obj != NULL && cJSON_GetArraySize(obj) == n)
		return obj;
	cJSON_Delete(obj);
	errorf(err, errlen, "out of memory");
	return NULL;
}

static const char *
opt_string(const cJSON *item, const char *key)
{
	const cJSON	*n = get(item, key);

	return cJSON_IsString(n) && n->valuestring[0] ? n->valuestring : NULL;
}

static cJSON *
str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* A set Union[bool, str] field as a bool; -1 when it is not one. */
static int
field_bool(const cJSON *item, const char *key, int dflt, int *out)
{
	const cJSON	*n = get(item, key);

	*out = dflt;
	if (n == NULL || cJSON_IsNull(n))
		return 0;
	return lax_bool(n, out);
}

static cJSON *
cron_schedule(const cJSON *item, const char *cron, char *err,
    size_t errlen)
{
	const char	*why;
	cJSON		*s;
	int		 day_or;

	if (!cron_ok(cron, &why))
		return errorf(err, errlen, "%s: \"%s\"", why, cron), NULL;
	if (field_bool(item, "day_or", 1, &day_or) == -1)
		return errorf(err, errlen, "day_or must be a boolean"), NULL;
	s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "cron", cron);
	add(s, "timezone", str_or_null(opt_string(item, "timezone")));
	cJSON_AddBoolToObject(s, "day_or", day_or);
	return complete(s, 3, err, errlen);
}

static cJSON *
interval_schedule(const cJSON *item, const char *default_anchor, char *err,
    size_t errlen)
{
	const char	*anchor = opt_string(item, "anchor_date");
	const char	*tz = opt_string(item, "timezone");
	char		 norm[64];
	double		 secs;
	cJSON		*s, *num;

	if (interval_secs(get(item, "interval"), &secs) == -1)
		return errorf(err, errlen, "invalid interval"), NULL;
	if (secs <= 0)
		return errorf(err, errlen, "interval must be greater than zero"),
		    NULL;
	if (anchor != NULL && normalize_anchor(anchor, norm, sizeof(norm)))
		return errorf(err, errlen, "anchor_date is not an ISO 8601 "
		    "date-time: \"%s\"", anchor), NULL;
	s = cJSON_CreateObject();
	if ((num = cJSON_CreateNumber(secs)) != NULL)
		num->type |= YAML_CJSON_FLOAT;
	add(s, "interval", num);
	if (anchor != NULL || default_anchor != NULL)
		cJSON_AddStringToObject(s, "anchor_date",
		    anchor ? norm : default_anchor);
	cJSON_AddStringToObject(s, "timezone", tz ? tz : "UTC");
	return complete(s, anchor || default_anchor ? 3 : 2, err, errlen);
}

/* rrule may also be a JSON RRuleSchedule {"rrule": ..., "timezone": ..}. */
static cJSON *
rrule_schedule(const cJSON *item, const char *rrule, char *err,
    size_t errlen)
{
	const char	*tz = opt_string(item, "timezone");
	cJSON		*j = cJSON_Parse(rrule), *s;
	const cJSON	*r = NULL, *t = NULL;

	if (cJSON_IsObject(j)) {
		r = get(j, "rrule");
		t = get(j, "timezone");
		if (!cJSON_IsString(r) || (t && !cJSON_IsNull(t) &&
		    !cJSON_IsString(t))) {
			cJSON_Delete(j);
			return errorf(err, errlen, "rrule JSON must have a "
			    "string \"rrule\""), NULL;
		}
		rrule = r->valuestring;
		if (tz == NULL && cJSON_IsString(t))
			tz = t->valuestring;
	}
	if (strlen(rrule) > MAX_RRULE) {
		cJSON_Delete(j);
		return errorf(err, errlen, "rrule is longer than %d characters",
		    MAX_RRULE), NULL;
	}
	s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "rrule", rrule);
	cJSON_AddStringToObject(s, "timezone", tz ? tz : "UTC");
	cJSON_Delete(j);
	return complete(s, 2, err, errlen);
}

static cJSON *
schedule_of(const cJSON *item, const char *default_anchor, char *err,
    size_t errlen)
{
	const cJSON	*iv = get(item, "interval");
	const char	*cron = opt_string(item, "cron");
	const char	*rrule = opt_string(item, "rrule");

	if (cron != NULL)
		return cron_schedule(item, cron, err, errlen);
	if (iv != NULL && !cJSON_IsNull(iv) && !(cJSON_IsNumber(iv) &&
	    iv->valuedouble == 0) && !(cJSON_IsString(iv) &&
	    iv->valuestring[0] == '\0') && !cJSON_IsFalse(iv))
		return interval_schedule(item, default_anchor, err, errlen);
	if (rrule != NULL)
		return rrule_schedule(item, rrule, err, errlen);
	errorf(err, errlen, "unknown schedule type: exactly one of cron, "
	    "interval, rrule is required");
	return NULL;
}

int
prefect_yaml_schedule(const cJSON *item, const char *default_anchor,
    cJSON **out, char *err, size_t errlen)
{
	const cJSON	*params = get(item, "parameters");
	cJSON		*body, *sched;
	int		 active;

	*out = NULL;
	if (!cJSON_IsObject(item))
		return errorf(err, errlen, "a schedule must be a mapping");
	if (field_bool(item, "active", 1, &active) == -1)
		return errorf(err, errlen, "active must be able to be parsed as "
		    "a boolean");
	if (params != NULL && !cJSON_IsNull(params) && !cJSON_IsObject(params))
		return errorf(err, errlen, "schedule parameters must be a "
		    "mapping");
	if ((sched = schedule_of(item, default_anchor, err, errlen)) == NULL)
		return -1;
	body = cJSON_CreateObject();
	add(body, "schedule", sched);
	cJSON_AddBoolToObject(body, "active", active);
	cJSON_AddNullToObject(body, "max_scheduled_runs");
	add(body, "parameters", cJSON_IsObject(params) ?
	    cJSON_Duplicate(params, 1) : cJSON_CreateObject());
	add(body, "slug", str_or_null(opt_string(item, "slug")));
	add(body, "replaces", str_or_null(opt_string(item, "replaces")));
	*out = complete(body, 6, err, errlen);
	return *out ? 0 : -1;
}

int
prefect_yaml_schedules(const cJSON *config, const char *default_anchor,
    cJSON **out, char *err, size_t errlen)
{
	const cJSON	*list = get(config, "schedules");
	char		 msg[256];
	int		 i = 0;

	*out = NULL;
	if (list != NULL && !cJSON_IsNull(list) && !cJSON_IsArray(list))
		return errorf(err, errlen, "schedules must be a list");
	if ((*out = cJSON_CreateArray()) == NULL)
		return errorf(err, errlen, "out of memory");
	for (const cJSON *s = list ? list->child : NULL; s; s = s->next, i++) {
		cJSON	*body;

		if (prefect_yaml_schedule(s, default_anchor, &body, msg,
		    sizeof(msg)) == -1 || !cJSON_AddItemToArray(*out, body)) {
			errorf(err, errlen, "schedules[%d]: %s", i, msg);
			cJSON_Delete(*out);
			*out = NULL;
			return -1;
		}
	}
	return 0;
}

static int
concurrency_options(const cJSON *spec, cJSON **options, char *err,
    size_t errlen)
{
	const cJSON	*cs = get(spec, "collision_strategy");
	const cJSON	*g = get(spec, "grace_period_seconds");
	long long	 x = 0;

	if (!cJSON_IsString(cs) || !strategy_ok(cs->valuestring))
		return errorf(err, errlen, "concurrency_limit.collision_strategy "
		    "must be ENQUEUE or CANCEL_NEW");
	if (g != NULL && !cJSON_IsNull(g) && (lax_int(g, &x) == -1 || x < 60 ||
	    x > 86400))
		return errorf(err, errlen, "concurrency_limit.grace_period_"
		    "seconds must be an integer between 60 and 86400");
	*options = cJSON_CreateObject();
	cJSON_AddStringToObject(*options, "collision_strategy",
	    cs->valuestring);
	if (g != NULL && !cJSON_IsNull(g))
		cJSON_AddNumberToObject(*options, "grace_period_seconds",
		    (double)x);
	*options = complete(*options, g && !cJSON_IsNull(g) ? 2 : 1, err,
	    errlen);
	return *options ? 0 : -1;
}

int
prefect_yaml_concurrency(const cJSON *config, cJSON **limit, cJSON **options,
    char *err, size_t errlen)
{
	const cJSON	*n = get(config, "concurrency_limit"), *lim = n;
	long long	 x;

	*limit = *options = NULL;
	if (cJSON_IsObject(n)) {
		if (concurrency_options(n, options, err, errlen) == -1)
			return -1;
		lim = get(n, "limit");
	}
	if (lim == NULL || cJSON_IsNull(lim))
		*limit = cJSON_CreateNull();
	else if (lax_int(lim, &x) == 0)
		*limit = cJSON_CreateNumber((double)x);
	else {
		cJSON_Delete(*options);
		*options = NULL;
		return errorf(err, errlen, "concurrency_limit must be an "
		    "integer");
	}
	if (*limit == NULL) {
		cJSON_Delete(*options);
		*options = NULL;
		return errorf(err, errlen, "out of memory");
	}
	return 0;
}
