/*
 * destination.c: the table of SQL destinations (load/destination.h).
 */
#include <string.h>

#include "load/destination.h"

const struct ld_dest_ops *
ld_dest_find(const char *type)
{
	static const struct ld_dest_ops *const all[] = {
		&ld_duckdb_ops, &ld_postgres_ops, &ld_snowflake_ops, NULL
	};

	for (size_t i = 0; type != NULL && all[i] != NULL; i++)
		if (strcmp(all[i]->type, type) == 0)
			return all[i];
	return NULL;
}
