/*
 * pf/pf.h: the whole flow SDK in one include. pf/flow.h is the core;
 * the others add configuration, JSON values, loading (pipelines), HTTP
 * and SQL sources. Each may also be included alone.
 */
#ifndef PF_PF_H
#define PF_PF_H

#include <pf/flow.h>
#include <pf/config.h>
#include <pf/json.h>
#include <pf/pipeline.h>
#include <pf/http.h>
#include <pf/sql.h>

#endif
