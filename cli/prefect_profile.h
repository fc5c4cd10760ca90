/*
 * prefect_profile.h: the settings of Prefect's active profile
 * ($PREFECT_HOME/profiles.toml, `active` or $PREFECT_PROFILE) put into
 * the environment where it does not set them, as Prefect's client reads
 * them: environment first, then the profile.
 */
#ifndef CLI_PREFECT_PROFILE_H
#define CLI_PREFECT_PROFILE_H

#include <stddef.h>

/* 0, or -1 with a message naming the file for an unreadable profile. */
int	prefect_profile_apply(char *err, size_t errlen);

#endif
