/*
 * load/filesystem.h: dlt's filesystem destination (load/filesystem.c),
 * type "filesystem": bucket_url, layout, max_state_files under
 * destination.<name>, data_writer.disable_compression, and for s3://
 * dlt's AWS credential fields (else the default AWS chain). Its ops
 * load and restore on their own (ld_dest_ops.load_package, .restore).
 */
#ifndef LOAD_FILESYSTEM_H
#define LOAD_FILESYSTEM_H

#include <stddef.h>

/*
 * dlt's path_utils.create_path: the layout's placeholders filled in
 * (when: the load package's created_at, epoch seconds), ".{ext}" added
 * when the layout lacks {ext}. NULL with err for an unknown one.
 */
char	*ld_fs_render_layout(const char *layout, const char *schema,
	    const char *table, const char *load_id, const char *file_id,
	    const char *ext, double when, char *err, size_t errlen);
/* dlt's table prefix ("items/"): what replace and drop delete under. */
char	*ld_fs_table_prefix(const char *layout, const char *schema,
	    const char *table, char *err, size_t errlen);

#endif
