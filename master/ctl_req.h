/*
 * A control request's bytes to a command and its arguments, and the
 * arguments' own syntax (session ids): pure code, no I/O and no master
 * state, so fuzz/fuzz_ctl.c can drive it with anything.
 */
#ifndef SL_CTL_REQ_H
#define SL_CTL_REQ_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/*
 * Parse a request body: a JSON object with a string "cmd" and, if any,
 * an object "args" whose keys are all ones the command takes.  Returns
 * 0 with *req (the caller's to cJSON_Delete), *cmd and *args (NULL: none)
 * set; -1 with *why and *fatal: 1 when the body is not a request at all
 * (the client is dropped), 0 when it is a request the master refuses
 * (answered with why).
 */
int	ctl_req_parse(const char *body, size_t len, cJSON **req,
	    const char **cmd, const cJSON **args, char *why, size_t whylen,
	    int *fatal);

/* "generation.worker.serial" (serial > 0): 0, or -1. */
int	ctl_parse_id(const char *s, uint32_t *gen, uint32_t *index,
	    uint64_t *serial);

#endif
