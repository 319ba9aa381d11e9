/* placeholder until the notify protocol lands: every call does nothing */
#include "notify.h"

void notify_init(void) {}
void notify_ready(const char *status) { (void)status; }
void notify_reloading(void) {}
void notify_stopping(void) {}
void notify_status(const char *fmt, ...) { (void)fmt; }
