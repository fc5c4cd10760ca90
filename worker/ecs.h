/*
 * ecs.h: the ECS infrastructure of `pfagent start --type ecs`, a drop-in
 * for prefect-aws 0.7.12's ECS worker: each flow run is an ECS task,
 * built from the pool's base job template as ecs_worker.py builds it,
 * and watched by the worker itself (batched DescribeTasks on its loop,
 * no EventBridge). run.c keeps the run's lifecycle; this file replaces
 * only the process: start, watch, stop, detach, re-attach.
 */
#ifndef WORKER_ECS_H
#define WORKER_ECS_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct agent;
struct run;
struct jrec;
struct ecs_task;

/* prefect-aws's base job template (ecs_template.c, generated). */
cJSON	*ecs_base_job_template(void);

/* What Prefect's prepare_for_flow_run adds to the job configuration. */
struct ecs_ctx {
	const char	*pool_name;
	const char	*pool_id;
	const char	*worker_name;
	const char	*region;	/* awslogs-region */
	const char	*version;	/* prefect.io/version */
	const cJSON	*flow_run;
	const cJSON	*deployment;
	const cJSON	*flow;
	const cJSON	*base_env;	/* object: the worker's settings */
	const char	*default_command; /* no command job variable */
};

/* A flow run's task, as ecs_worker.py prepares it. */
struct ecs_job {
	cJSON	*task_definition;	/* NULL: task_definition_arn given */
	cJSON	*run_request;		/* RunTask's body, network aside */
	char	*cluster;		/* configuration.cluster, or NULL */
	char	*container_name;
	char	*vpc_id;
	cJSON	*network_configuration;	/* NULL: none given */
	cJSON	*aws_credentials;	/* the block's fields, or NULL */
	cJSON	*env;			/* configuration.env, prepared */
	cJSON	*labels;		/* configuration.labels, prepared */
	char	*command;		/* configuration.command */
	int	 match_latest_revision;
	int	 auto_deregister;
	int	 stream_output;
	double	 start_timeout;		/* seconds */
	double	 poll_interval;		/* seconds */
};

/*
 * From the rendered job configuration (jobconf_render) and the run:
 * the task definition (_prepare_task_definition) and the RunTask request
 * without its network configuration (_prepare_task_run_request). 0, or
 * -1 with err (prefect-aws's ValueError text).
 */
int	 ecs_job_prepare(struct ecs_job *, const cJSON *cfg,
	    const struct ecs_ctx *, char *err, size_t errlen);
/* env, labels and command as prepare_for_flow_run makes them. */
int	 ecs_job_prepare_run(struct ecs_job *, const cJSON *cfg,
	    const struct ecs_ctx *);
void	 ecs_job_cleanup(struct ecs_job *);
/*
 * The run request's final touches once the task definition is known
 * (its ARN, whether it is new): launch type, capacity provider, the
 * container override's name, command and env, tags.
 */
void	 ecs_job_finish_request(struct ecs_job *, const cJSON *task_definition,
	    const char *arn, int registered);
/* ecs_worker.py's _task_definitions_equal. */
int	 ecs_task_definitions_equal(const cJSON *a, const cJSON *b);
/*
 * The awslogs log configuration of a task definition's container: 1 with
 * its group, stream prefix and region (NULL: not given) borrowed from td;
 * 0 when it logs otherwise or lacks a group or prefix (no stream name).
 */
int	 ecs_awslogs_of(const cJSON *td, const char *container,
	    const char **group, const char **prefix, const char **region);
/* The awslogs stream: "<prefix>/<container>/<task id>" (the ARN's tail). */
char	*ecs_log_stream(const char *prefix, const char *container,
	    const char *task_arn);
/* python-slugify as prefect-aws calls it on tags. */
char	*ecs_tag_slug(const char *);

/* The worker side. */
void	 ecs_run_start(struct run *);
void	 ecs_run_cancel(struct run *);
/* The worker stops: its tasks keep running, their records stay. */
void	 ecs_detach_all(struct agent *);
/* Re-attaches to a dead worker's task (recover.c); -1 if impossible. */
int	 ecs_adopt(struct agent *, struct jrec *, const cJSON *flow_run);
void	 ecs_task_free(struct ecs_task *);
void	 ecs_agent_cleanup(struct agent *);

#endif
