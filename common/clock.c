/*
 * clock.c: the monotonic and wall clocks, ISO 8601 times as Prefect's API
 * prints them, and sleeping through signals. A leaf, below the logger.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* UTC time of us microseconds since the epoch, with 3 or 6 decimals. */
static void
format_utc(int64_t us, int decimals, char out[32])
{
	time_t		 secs = (time_t)(us / 1000000);
	struct tm	 tm;
	char		 tmp[80];

	gmtime_r(&secs, &tm);
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%0*dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, decimals, decimals == 3 ?
	    (int)(us % 1000000 / 1000) : (int)(us % 1000000));
	strlcpy_(out, tmp, 32);
}

void
iso8601_now(char out[32], double offset_seconds)
{
	int64_t	 ms = realtime_us() / 1000 + (int64_t)(offset_seconds * 1000);

	format_utc(ms * 1000, 3, out);
}

int
month_days(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

int
iso8601_parse(const char *s, double *out)
{
	struct tm	 tm;
	const char	*p;
	char		*e;
	double		 frac = 0;
	int		 h, m, off = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		frac = strtod(p, &e);
		p = e;
	}
	if (*p == 'Z')
		p++;
	else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &h,
	    &m) == 2) {
		off = (h * 60 + m) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	}
	if (*p != '\0')
		return -1;
	*out = (double)timegm(&tm) + frac - off;
	return 0;
}

void
sleep_ms(int64_t ms)
{
	struct timespec	ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
iso8601_us(int64_t us, char out[32])
{
	format_utc(us, 6, out);
}

int64_t
realtime_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
