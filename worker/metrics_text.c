/* placeholder: the Prometheus text of the shared region */
#include "metrics_text.h"
typedef int metrics_text_unused;
