/*
 * seccomp allowlists.  The default action kills the process (a meson
 * option selects trap or log for development); any error while building
 * or loading a filter is fatal.
 */
#ifndef SL_SANDBOX_H
#define SL_SANDBOX_H

struct sandbox_opts {
	int	splice;		/* allow splice/pipe2 for the splice relay */
	int	bind;		/* some link binds a source address */
};

/* worker/sandbox.c */
void	sandbox_worker(const struct sandbox_opts *);

/* resolver/sandbox.c */
void	sandbox_resolver(void);

/* sandbox.c: helpers for the two allowlists above */
struct sandbox;
struct sandbox	*sandbox_begin(const char *who);
void		 sandbox_allow(struct sandbox *, int nr, const char *why);
/* Allow nr only when argument `arg` equals one of vals[0..n-1]. */
void		 sandbox_allow_arg_in(struct sandbox *, int nr, unsigned arg,
		    const unsigned long *vals, unsigned n, const char *why);
/* Allow nr only when argument `arg` has no bits outside mask. */
void		 sandbox_allow_arg_mask(struct sandbox *, int nr, unsigned arg,
		    unsigned long mask, const char *why);
/* Load (after PR_SET_NO_NEW_PRIVS), verify with prctl, free. */
void		 sandbox_load(struct sandbox *);
/* Write the filter as pfc text to fd (tests, golden file). */
int		 sandbox_export_pfc(struct sandbox *, int fd);
const char	*sandbox_mode_name(void);

#endif
