/*
 * checkout.c: a commit's tree into a directory, for git_clone.
 *
 * Sparse directories in cone mode as git sparse-checkout does, no .git
 * in the result, and submodules (from the parent's gitlinks and
 * .gitmodules) checked out through their own mirrors, recursively.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "common/log.h"
#include "common/util.h"
#include "git/clone_int.h"

#define SUBMODULE_DEPTH		8

/* ----------------------------------------------------------- checkout */

/* The entries of tree that are not directories, as prefix + name. */
static void
add_files(const git_tree *tree, const char *prefix, struct strv *out)
{
	const git_tree_entry	*e;
	size_t			 n = git_tree_entrycount(tree);

	for (size_t i = 0; i < n; i++) {
		e = git_tree_entry_byindex(tree, i);
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			clone_strv_add(out, xasprintf("%s%s", prefix,
			    git_tree_entry_name(e)));
	}
}

/*
 * git sparse-checkout's cone mode as literal pathspecs: each directory
 * with everything below it, plus the files directly in the root and in
 * every parent of a listed directory (so prefect.yaml and
 * requirements.txt at the top are always there, as with Prefect).
 */
static void
sparse_paths(struct pull *p, git_repository *repo, const git_tree *root,
    const char *hex, struct strv *out)
{
	git_tree_entry	*e;
	git_tree	*sub;
	struct strv	 seen = { 0 };
	const char	*d, *s;
	char		*parent;

	add_files(root, "", out);
	for (size_t i = 0; i < p->dirs.n; i++) {
		d = p->dirs.v[i];
		if (git_tree_entry_bypath(&e, root, d) != 0)
			clone_say(p, PF_LEVEL_WARNING,
			    "Directory '%s' is not in " "commit %.12s", d, hex);
		else
			git_tree_entry_free(e);
		clone_strv_add(out, xstrdup(d));
		for (s = strchr(d, '/'); s != NULL; s = strchr(s + 1, '/')) {
			parent = xasprintf("%.*s", (int)(s - d), d);
			if (clone_strv_has(&seen, parent)) {
				free(parent);
				continue;
			}
			if (git_tree_entry_bypath(&e, root, parent) == 0) {
				if (git_tree_entry_type(e) == GIT_OBJECT_TREE &&
				    git_tree_lookup(&sub, repo,
				    git_tree_entry_id(e)) == 0) {
					char *pre = xasprintf("%s/", parent);

					add_files(sub, pre, out);
					free(pre);
					git_tree_free(sub);
				}
				git_tree_entry_free(e);
			}
			clone_strv_add(&seen, parent);
		}
	}
	clone_strv_free(&seen);
}

/* Whether path is one of paths or below one (literal pathspecs). */
static int
in_paths(const struct strv *paths, const char *path)
{
	size_t	 n;

	for (size_t i = 0; i < paths->n; i++) {
		n = strlen(paths->v[i]);
		if (strncmp(path, paths->v[i], n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

/*
 * Takes the gitlinks out of idx: libgit2 cannot check them out without
 * a working tree (it looks for the submodule's repository there).  The
 * ones inside the sparse paths (all when paths is NULL) go to links.
 */
static int
take_gitlinks(git_index *idx, const struct strv *paths, struct links *links)
{
	const git_index_entry	*e;
	char			*path;

	for (size_t i = git_index_entrycount(idx); i-- > 0;) {
		e = git_index_get_byindex(idx, i);
		if (e == NULL || (e->mode & 0170000) != GIT_FILEMODE_COMMIT)
			continue;
		path = xstrdup(e->path);
		if (paths == NULL || in_paths(paths, path)) {
			if (links->n == links->cap) {
				links->cap = links->cap ? links->cap * 2 : 8;
				links->v = xrealloc(links->v, links->cap *
				    sizeof(*links->v));
			}
			links->v[links->n].path = xstrdup(path);
			git_oid_cpy(&links->v[links->n].oid, &e->id);
			links->n++;
		}
		if (git_index_remove(idx, path, 0) < 0) {
			free(path);
			return -1;
		}
		free(path);
	}
	return 0;
}

/*
 * Writes the files of commit into dir: no .git, and the mirror's index
 * neither read nor written (checkout goes from an in-memory index, over
 * an empty baseline), so checkouts of one mirror never step on each
 * other.  Sparse when directories were given.  Submodules get empty
 * folders; their gitlinks go to links unless it is NULL.
 */
int
clone_checkout(struct pull *p, git_repository *repo, const git_oid *commit,
    const char *url, const char *dir, int sparse, struct links *links,
    char *err, size_t errlen)
{
	git_checkout_options	 co;
	git_commit		*c = NULL;
	git_tree		*t = NULL;
	git_index		*empty = NULL, *idx = NULL;
	struct strv		 paths = { 0 };
	struct links		 found = { 0 };
	char			 hex[GIT_OID_HEXSZ + 1], *doing;
	int			 rc = -1;

	git_oid_tostr(hex, sizeof(hex), commit);
	doing = xasprintf("checking out commit %s of", hex);
	errno = 0;
	if (git_commit_lookup(&c, repo, commit) < 0 ||
	    git_commit_tree(&t, c) < 0 || git_index_new(&empty) < 0 ||
	    git_index_new(&idx) < 0 || git_index_read_tree(idx, t) < 0)
		goto fail;
	if (sparse)
		sparse_paths(p, repo, t, hex, &paths);
	if (take_gitlinks(idx, sparse ? &paths : NULL, &found) == -1)
		goto fail;
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE |
	    GIT_CHECKOUT_DONT_UPDATE_INDEX | GIT_CHECKOUT_DONT_WRITE_INDEX;
	co.target_directory = dir;
	co.baseline_index = empty;
	if (sparse) {
		co.checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
		co.paths.strings = paths.v;
		co.paths.count = paths.n;
	}
	/* No paths at all would mean every path to libgit2. */
	if ((!sparse || paths.n > 0) &&
	    git_checkout_index(repo, idx, &co) < 0)
		goto fail;
	for (size_t i = 0; i < found.n; i++) {
		/* git leaves an empty folder for a submodule. */
		char	*sub = xasprintf("%s/%s", dir, found.v[i].path);
		int	 made = mkdir_p(sub, 0755);

		free(sub);
		if (made == -1) {
			errorf(err, errlen, "%s '%s': cannot create %s: %s",
			    doing, url, found.v[i].path, strerror(errno));
			goto out;
		}
	}
	if (links != NULL) {
		*links = found;		/* now owned by the caller */
		memset(&found, 0, sizeof(found));
	}
	rc = 0;
	goto out;
fail:
	clone_git_fail(p, NULL, -1, doing, url, err, errlen);
out:
	clone_links_free(&found);
	clone_strv_free(&paths);
	git_index_free(idx);
	git_index_free(empty);
	git_tree_free(t);
	git_commit_free(c);
	free(doing);
	return rc;
}

/* --------------------------------------------------------- submodules */

/* The url of the submodule at path in .gitmodules, or NULL. */
static char *
submodule_url(git_config *cfg, const char *path)
{
	git_config_iterator	*it = NULL;
	git_config_entry	*e;
	git_buf			 val = { 0 };
	char			*key = NULL, *url = NULL;

	size_t			 n;

	/* Not a glob iterator: libgit2 1.5 leaks its regex matches. */
	if (git_config_iterator_new(&it, cfg) < 0)
		return NULL;
	while (key == NULL && git_config_next(&e, it) == 0) {
		n = strlen(e->name);
		if (strncmp(e->name, "submodule.", 10) == 0 && n > 15 &&
		    strcmp(e->name + n - 5, ".path") == 0 && e->value &&
		    strcmp(e->value, path) == 0)
			key = xasprintf("%.*s.url", (int)(n - 5), e->name);
	}
	git_config_iterator_free(it);
	if (key != NULL && git_config_get_string_buf(&val, cfg, key) == 0)
		url = xstrdup(val.ptr);
	git_buf_dispose(&val);
	free(key);
	return url;
}

/* Checks out one gitlink into dir from the submodule's own mirror. */
static int
submodule(struct pull *p, const struct repo_url *parent,
    const struct repo_creds *pcr, const struct gitlink *l, const char *raw,
    const char *dir, int depth, char *err, size_t errlen)
{
	struct mirror		 m = { .fd = -1 };
	struct links		 links = { 0 };
	struct repo_url		 u;
	const struct repo_creds	*cr = NULL;
	git_oid			 commit;
	char			 hex[GIT_OID_HEXSZ + 1], *abs;
	int			 rc = -1;

	memset(&u, 0, sizeof(u));
	if ((abs = repo_url_resolve_relative(parent->url, raw)) == NULL)
		return errorf(err, errlen, "submodule '%s': cannot resolve "
		    "its URL '%s' against '%s'", l->path, raw, parent->url);
	if (repo_url_parse(abs, &u, err, errlen) == -1)
		goto out;
	/* A remote repository must not make us read local ones. */
	if (u.kind == REPO_URL_LOCAL && parent->kind != REPO_URL_LOCAL) {
		errorf(err, errlen, "submodule '%s' has the local URL '%s', "
		    "allowed only when the repository itself is local",
		    l->path, u.url);
		goto out;
	}
	/* The parent's credentials go to the parent's host only. */
	if (u.embedded.user != NULL)
		cr = &u.embedded;
	else if (u.kind == REPO_URL_HTTP && parent->kind == REPO_URL_HTTP &&
	    strcmp(u.host, parent->host) == 0)
		cr = pcr;
	git_oid_tostr(hex, sizeof(hex), &l->oid);
	if (clone_mirror_open(p, &u, &m, err, errlen) == -1 ||
	    clone_ensure_commit(p, &m, &u, cr, hex, &commit, err,
	    errlen) == -1 ||
	    clone_checkout(p, m.repo, &commit, u.url, dir, 0, &links, err,
	    errlen) == -1)
		goto out;
	clone_mirror_close(&m);
	clone_say(p, PF_LEVEL_INFO,
	    "Checked out submodule '%s' at commit %s of "
	    "'%s'", l->path, hex, u.url);
	rc = clone_submodules(p, &u, cr, dir, &links, depth + 1, err, errlen);
out:
	clone_mirror_abandon(&m);
	clone_links_free(&links);
	repo_url_cleanup(&u);
	free(abs);
	return rc;
}

/*
 * Checks out every submodule of the tree just written into dir (its
 * gitlinks are links) at its gitlink commit, recursively, as git clone
 * --recurse-submodules does.  Gitlinks left out by a sparse checkout
 * have no directory and are skipped.
 */
int
clone_submodules(struct pull *p, const struct repo_url *parent,
    const struct repo_creds *pcr, const char *dir, struct links *links,
    int depth, char *err, size_t errlen)
{
	git_config	*cfg = NULL;
	char		*gm, *sub, *url;
	int		 rc = 0;

	if (links->n == 0)
		return 0;
	if (depth > SUBMODULE_DEPTH)
		return errorf(err, errlen, "submodules of '%s' are nested "
		    "deeper than %d levels", parent->url, SUBMODULE_DEPTH);
	gm = xasprintf("%s/.gitmodules", dir);
	if (access(gm, F_OK) == -1) {
		clone_say(p, PF_LEVEL_WARNING, "'%s' has gitlinks but no "
		    ".gitmodules: its submodules are left out", parent->url);
		free(gm);
		return 0;
	}
	if (git_config_open_ondisk(&cfg, gm) < 0) {
		errorf(err, errlen, "cannot read .gitmodules of '%s': %s",
		    parent->url, git_error_last() ? git_error_last()->message :
		    "?");
		free(gm);
		return -1;
	}
	for (size_t i = 0; i < links->n && rc == 0; i++) {
		sub = xasprintf("%s/%s", dir, links->v[i].path);
		if (!is_dir(sub))
			;	/* outside the sparse directories */
		else if ((url = submodule_url(cfg, links->v[i].path)) == NULL)
			rc = errorf(err, errlen, "No url found for submodule "
			    "path '%s' in .gitmodules of '%s'",
			    links->v[i].path, parent->url);
		else {
			rc = submodule(p, parent, pcr, &links->v[i], url, sub,
			    depth, err, errlen);
			free(url);
		}
		free(sub);
	}
	git_config_free(cfg);
	free(gm);
	return rc;
}
