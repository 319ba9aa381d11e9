/* placeholder until the access log lands: records are dropped */
#include <stdio.h>

#include "accesslog.h"

int
accesslog_open(const struct sl_conf *conf, char *err, size_t errlen)
{
	(void)conf; (void)err; (void)errlen;
	return 0;
}

int
accesslog_reopen(char *err, size_t errlen)
{
	(void)err; (void)errlen;
	return 0;
}

void
accesslog_record(const struct proc *c, const struct sl_msg *m)
{
	(void)c; (void)m;
}
