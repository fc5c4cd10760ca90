/*
 * fuzz_yaml.c: libFuzzer entry for yaml/doc.c and
 * deployments/prefect_yaml.c.  Every input is loaded as YAML; a
 * document that loads is validated as a prefect.yaml, and each valid
 * deployment has its schedule and concurrency bodies built, so every
 * path that owns memory runs under ASan.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "deployments/prefect_yaml.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Every node of the tree must have a position; aborts otherwise. */
static void
walk(const struct ydoc *doc, const cJSON *n)
{
	int	 line, col;

	for (; n != NULL; n = n->next) {
		if (ydoc_pos(doc, n, &line, &col) != 0 || line < 1 ||
		    col < 1)
			abort();
		walk(doc, n->child);
	}
}

static void
bodies(const struct prefect_yaml *py)
{
	char	 err[256];

	for (size_t i = 0; i < prefect_yaml_count(py); i++) {
		const struct pf_deployment *d = prefect_yaml_deployment(py, i);
		cJSON	*s = NULL, *lim = NULL, *opt = NULL;

		if (d->config == NULL || d->build_steps == NULL ||
		    d->push_steps == NULL || d->pull_steps == NULL)
			abort();
		prefect_yaml_schedules(d->config, "2026-01-01T00:00:00Z", &s,
		    err, sizeof(err));
		prefect_yaml_concurrency(d->config, &lim, &opt, err,
		    sizeof(err));
		prefect_yaml_check_deployable(py, d, err, sizeof(err));
		cJSON_Delete(s);
		cJSON_Delete(lim);
		cJSON_Delete(opt);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ydoc_error	 yerr;
	struct ydoc		*doc;
	struct prefect_yaml	*py = NULL;
	struct pf_msgs		 warn = { NULL, 0 };
	char			 err[2048];

	doc = ydoc_load((const char *)data, size, &yerr);
	if (doc == NULL) {
		if (yerr.msg[0] == '\0')
			abort();
		return 0;
	}
	walk(doc, ydoc_root(doc));
	if (prefect_yaml_load(doc, "fuzz.yaml", &py, &warn, err,
	    sizeof(err)) == 0)
		bodies(py);
	else if (py != NULL || err[0] == '\0')
		abort();
	prefect_yaml_free(py);
	prefect_yaml_msgs_free(&warn);
	ydoc_free(doc);
	return 0;
}
