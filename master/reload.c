/* placeholder */
#include "master.h"
typedef int reload_unused;
