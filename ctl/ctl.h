/* sluicectl's files. */
#ifndef SL_CTL_H
#define SL_CTL_H
#endif
