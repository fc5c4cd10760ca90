/*
 * standalone.c: replays files through a libFuzzer harness without
 * libFuzzer, so make test can run every corpus under ASan+UBSan.
 * With clang: clang -fsanitize=fuzzer,address tests/fuzz/fuzz_X.c ...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE	*f = fopen(argv[i], "rb");
		uint8_t	*buf;
		long	 len;

		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc(len > 0 ? (size_t)len : 1);
		if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
			fclose(f);
			free(buf);
			return 1;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
	}
	return 0;
}
