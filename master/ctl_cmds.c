/* placeholder */
#include "master.h"
typedef int ctl_cmds_unused;
