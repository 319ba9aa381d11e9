/* placeholder */
#include "ctl.h"
typedef int ctl_out_unused;
