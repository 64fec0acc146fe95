/*
 * smarthost.c - what a session to a route needs (see smarthost.h).
 */
#include "config.h"

#include <string.h>

#include "smarthost.h"

void
smarthost_params(const struct cfg *c, const struct cfg_smarthost *sh,
    const char *password, int verbose, struct smtp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->host = sh->host;
	p->port = sh->port;
	p->tls = sh->tls;
	p->tls_verify = sh->tls_verify;
	p->ca_file = sh->ca_file;
	p->fingerprint = sh->fingerprint;
	p->cert_file = sh->cert_file;
	p->key_file = sh->key_file;
	p->auth = sh->auth;
	p->user = sh->user;
	p->password = password;
	p->plaintext_auth = sh->plaintext_auth;
	p->helo = cfg_hostname(c);
	p->timeout = (int)sh->timeout;
	p->verbose = verbose;
}

enum rq_status
smarthost_secrets(const struct cfg *c, const struct cfg_smarthost *sh,
    char **password, struct err *e)
{
	*password = NULL;
	if (sh->host == NULL)
		return err_set(e, RQ_TEMP, "no smarthost configured: set "
		    "[smarthost] host in %s, or let relayq setup ADDRESS "
		    "write it", c->path);
	if (sh->key_file != NULL && cfg_secret_ok(sh->key_file, e) != RQ_OK)
		return RQ_TEMP;
	if (sh->user != NULL)
		return cfg_password(sh, password, e);
	return RQ_OK;
}
