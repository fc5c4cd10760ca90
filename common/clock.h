/*
 * clock.h: clocks and ISO 8601 times.
 */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>

/* Milliseconds on the monotonic clock. */
int64_t	 now_ms(void);
/* Current UTC time as ISO-8601 with milliseconds, plus an offset. */
void	 iso8601_now(char out[32], double offset_seconds);
/*
 * An ISO 8601 date-time as the API prints it ("...T12:00:00.123+00:00"
 * or "Z") in epoch seconds; -1 when it is not one.
 */
int	 iso8601_parse(const char *, double *out);
/* Microseconds since the epoch, and as ISO 8601 with six decimals. */
int64_t	 realtime_us(void);
void	 iso8601_us(int64_t us, char out[32]);
/* Days in month m (1-12) of year y, proleptic Gregorian. */
int	 month_days(int y, int m);
/* Sleeps ms milliseconds, resuming after signals. */
void	 sleep_ms(int64_t ms);

#endif
