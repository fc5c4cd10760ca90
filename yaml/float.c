/*
 * float.c: ydoc_format_float(), Python's repr() of a float. A file of its
 * own: the worker's templating uses it, and linking it must not bring
 * the YAML parser (libyaml) into the worker (cli/main.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml/doc.h"

char *
ydoc_format_float(double d, char *buf, size_t len)
{
	char	 tmp[40], dig[24], out[48];
	int	 prec, exp, nd = 0, neg, o = 0;
	char	*p;

	if (isnan(d))
		return snprintf(buf, len, "nan"), buf;
	if (isinf(d))
		return snprintf(buf, len, d < 0 ? "-inf" : "inf"), buf;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	neg = tmp[0] == '-';
	for (p = tmp + neg; *p != 'e'; p++)
		if (*p != '.')
			dig[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (neg)
		out[o++] = '-';
	if (exp >= 16 || exp < -4) {
		out[o++] = dig[0];
		if (nd > 1) {
			out[o++] = '.';
			memcpy(out + o, dig + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		snprintf(out + o, sizeof(out) - (size_t)o, "e%c%02d",
		    exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp >= 0) {
		for (int i = 0; i <= exp; i++)
			out[o++] = i < nd ? dig[i] : '0';
		out[o++] = '.';
		if (nd > exp + 1)
			for (int i = exp + 1; i < nd; i++)
				out[o++] = dig[i];
		else
			out[o++] = '0';
		out[o] = '\0';
	} else {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = 0; i < -exp - 1; i++)
			out[o++] = '0';
		memcpy(out + o, dig, (size_t)nd);
		out[o + nd] = '\0';
	}
	snprintf(buf, len, "%s", out);
	return buf;
}
