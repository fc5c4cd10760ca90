/*
 * error.c: pf_last_error(), the one way a flow reads why an SDK call
 * failed. Per thread (a flow may run one pf_http per thread), as
 * libgit2's git_error_last(); a thread's text is freed when it ends.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>

#include "common/util.h"
#include "sdk/run.h"

#define PF_EXPORT __attribute__((visibility("default")))

static pthread_key_t	key;
static pthread_once_t	once = PTHREAD_ONCE_INIT;

static void
make_key(void)
{
	pthread_key_create(&key, free);
}

int
sdk_error_set(const char *msg)
{
	char	*old;

	pthread_once(&once, make_key);
	old = pthread_getspecific(key);
	/* msg may be the text being replaced. */
	pthread_setspecific(key, xstrdup(msg != NULL ? msg :
	    "unknown error"));
	free(old);
	return PF_ERROR;
}

int
sdk_error(const char *fmt, ...)
{
	va_list	 ap;
	char	*text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	sdk_error_set(text);
	free(text);
	return PF_ERROR;
}

PF_EXPORT const char *
pf_last_error(void)
{
	const char	*s;

	pthread_once(&once, make_key);
	s = pthread_getspecific(key);
	return s != NULL ? s : "";
}

int
sdk_def_version(const char *type, unsigned int version, unsigned int known,
    const char *init, char *err, size_t errlen)
{
	if (version == known)
		return 0;
	if (version == 0)
		return errorf(err, errlen, "%s has no version: initialise it "
		    "with %s(...) (this pfagent knows version %u)", type, init,
		    known);
	return errorf(err, errlen, "%s version %u is not one this pfagent "
	    "knows (it knows %u): rebuild the flow against its pf/ headers",
	    type, version, known);
}
