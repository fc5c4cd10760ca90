/*
 * config_cmd.h: the `profile`, `workspace` and `config` subcommands,
 * shaped after dlt's `dlthub profile`, `dlthub local info|clean` and
 * the resolver in config/cfg.h. Each returns the process exit status:
 * 0 done, 1 failed (missing value, no workspace), 2 bad usage.
 */
#ifndef CLI_CONFIG_H
#define CLI_CONFIG_H

int	profile_main(int argc, char **argv);
int	workspace_main(int argc, char **argv);
int	config_main(int argc, char **argv);

#endif
