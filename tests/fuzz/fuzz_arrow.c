/*
 * fuzz_arrow.c: snowflake/arrow.c over any bytes, read as an Arrow IPC
 * stream whose field metadata names the Snowflake types (no rowtype).
 * A refused stream leaves the caller's rows as they were and says why;
 * a read one appends rows of one string or null per column.
 */
#include <stdlib.h>
#include <string.h>

#include "snowflake/arrow.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON		*rows = cJSON_CreateArray(), *row, *cell;
	char		 err[512];
	long		 n;
	int		 ncols = -1;

	if (rows == NULL)
		return 0;
	/* An earlier chunk's row, which must stay alone on an error. */
	cJSON_AddItemToArray(rows, cJSON_CreateArray());
	err[0] = '\0';
	n = arrow_to_rowset(data, size, NULL, rows, err, sizeof(err));
	if (n < 0) {
		if (n != -1 || strncmp(err, "arrow: ", 7) != 0 ||
		    strstr(err, "at byte ") == NULL ||
		    cJSON_GetArraySize(rows) != 1)
			abort();
		cJSON_Delete(rows);
		return 0;
	}
	if (cJSON_GetArraySize(rows) != n + 1)
		abort();
	for (row = rows->child->next; row != NULL; row = row->next) {
		if (ncols < 0)
			ncols = cJSON_GetArraySize(row);
		if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != ncols)
			abort();
		cJSON_ArrayForEach(cell, row)
			if (!cJSON_IsNull(cell) && !cJSON_IsString(cell))
				abort();
	}
	cJSON_Delete(rows);
	return 0;
}
