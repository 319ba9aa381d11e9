/* placeholder */
#include "master.h"
typedef int control_unused;
