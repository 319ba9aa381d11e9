/* placeholder */
#include "master.h"
typedef int gen_unused;
