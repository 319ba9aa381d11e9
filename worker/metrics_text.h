/*
 * The Prometheus text exposition of the shared region: pure code over
 * the worker's config and a (hostile) region, no I/O.
 */
#ifndef SL_METRICS_TEXT_H
#define SL_METRICS_TEXT_H
#endif
