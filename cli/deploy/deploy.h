/*
 * deploy.h: `pfagent deploy`, our `prefect deploy` for C flows: the
 * deployments of a prefect.yaml, templated as Prefect does, with the
 * flow name and parameter schema taken from the built module, made to
 * match on the server with as few writes as possible (none when nothing
 * changed).
 */
#ifndef CLI_DEPLOY_DEPLOY_H
#define CLI_DEPLOY_DEPLOY_H

#include <stddef.h>

#include "deployments/prefect_yaml.h"
#include "yaml/doc.h"

/* A prefect.yaml: the document and its validated model. */
struct deploy_file {
	struct ydoc		*doc;
	struct prefect_yaml	*py;
	struct pf_msgs		 warn;		/* ignored keys and the like */
};

/*
 * Reads and validates file into f. Returns 0, or -1 with every problem
 * in err, one per line, as "file:line:col: ...". Free f with
 * deploy_file_cleanup() in both cases.
 */
int	deploy_file_load(struct deploy_file *f, const char *file, char *err,
	    size_t errlen);
void	deploy_file_cleanup(struct deploy_file *f);

/*
 * `pfagent deploy [--all | --name NAME ...] [--prefect-file PATH]
 * [--dry-run]` (argv without the command). Exit status: 0, 1 when a
 * deployment failed (the others are still deployed), 2 for bad usage,
 * an unreadable file or no API.
 */
int	deploy_main(int argc, char **argv);

#endif
