/*
 * prefect_yaml_time.c: the time syntax of prefect.yaml schedules.
 *
 * Anchor dates as pendulum.parse reads them, intervals as pydantic reads
 * a timedelta (seconds, ISO 8601 "PT10M" or "[D days, ]HH:MM[:SS]"), and
 * the shape of a cron string as croniter accepts it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "deployments/prefect_yaml_int.h"

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
int
pyaml_normalize_anchor(const char *s, char *out, size_t len)
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
int
pyaml_interval_secs(const cJSON *n, double *secs)
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
int
pyaml_cron_ok(const char *s, const char **why)
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
