/* placeholder */
#include "ctl.h"
typedef int ctl_wire_unused;
