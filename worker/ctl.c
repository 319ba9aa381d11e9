/* placeholder */
#include "worker.h"
typedef int ctl_unused;
