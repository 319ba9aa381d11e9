/* placeholder: reload lands in the next commit */
#include "../common/log.h"
#include "control.h"
#include "master.h"

void
reload_request(uint64_t client_id)
{
	struct ctl_client *c;

	log_warnx("reload is not implemented yet");
	if (client_id != 0 && (c = ctl_client_find(client_id)) != NULL)
		ctl_fail(c, "reload is not implemented yet");
}
