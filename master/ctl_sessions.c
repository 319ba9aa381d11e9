/* placeholder */
#include "master.h"
typedef int ctl_sessions_unused;
