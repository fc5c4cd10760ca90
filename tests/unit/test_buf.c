/*
 * test_buf.c: the string builder (common/buf.c): the cap, the
 * remembered refusal that buf_finish reports, truncation, and the
 * one-character and NUL-terminated appends.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "t.h"

int
main(void)
{
	struct buf	 b;
	char		*s;

	TEST("appends, formats and hands the string over") {
		buf_init(&b, 64);
		CHECK(buf_puts(&b, "ab") == 0);
		CHECK(buf_putc(&b, 'c') == 0);
		CHECK(buf_append(&b, "d\0e", 3) == 0);
		CHECK(buf_printf(&b, "-%d", 42) == 0);
		CHECK(b.len == 9);
		CHECK(memcmp(b.data, "abcd\0e-42", 10) == 0);
		s = buf_finish(&b);
		CHECK(s != NULL && memcmp(s, "abcd\0e-42", 10) == 0);
		CHECK(b.data == NULL && b.len == 0);
		free(s);
	}
	TEST("an empty buffer finishes as an empty string") {
		buf_init(&b, 8);
		s = buf_finish(&b);
		CHECK_STR(s, "");
		free(s);
	}
	TEST("the cap refuses an append and leaves the buffer as it was") {
		buf_init(&b, 4);
		CHECK(buf_puts(&b, "abcd") == 0);
		CHECK(buf_putc(&b, 'e') == -1);
		CHECK(buf_printf(&b, "%s", "x") == -1);
		CHECK_STR(b.data, "abcd");
		CHECK(b.failed);
		buf_cleanup(&b);
		CHECK(!b.failed && b.data == NULL);
	}
	TEST("a refusal is remembered: buf_finish gives NULL") {
		buf_init(&b, 4);
		CHECK(buf_puts(&b, "abcdef") == -1);
		CHECK(buf_puts(&b, "ab") == 0);	/* later appends still fit */
		CHECK(buf_finish(&b) == NULL);
		CHECK(b.data == NULL && !b.failed);
		/* buf_steal hands over what fitted, and forgets the refusal */
		CHECK(buf_puts(&b, "abcdef") == -1);
		CHECK(buf_puts(&b, "ab") == 0);
		s = buf_steal(&b);
		CHECK_STR(s, "ab");
		CHECK(!b.failed);
		free(s);
	}
	TEST("truncation shortens and keeps the terminator") {
		buf_init(&b, 64);
		buf_puts(&b, "a/b/c");
		buf_truncate(&b, 3);
		CHECK(b.len == 3);
		CHECK_STR(b.data, "a/b");
		buf_truncate(&b, 10);		/* longer: no-op */
		CHECK_STR(b.data, "a/b");
		buf_truncate(&b, 0);
		CHECK_STR(b.data, "");
		CHECK(buf_puts(&b, "xy") == 0);
		CHECK_STR(b.data, "xy");
		buf_cleanup(&b);
	}
	return t_done();
}
