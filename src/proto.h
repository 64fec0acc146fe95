/*
 * proto.h - the SMTP client's vocabulary that the configuration names:
 * how a connection is protected (tls_mode) and which AUTH mechanism is
 * used (auth_mech). Only constants, so that the protocol modules (smtp,
 * auth, reply, conn's users) need not include the configuration module,
 * and cfg.h can parse them into a struct cfg. cfg_tls_name() and
 * cfg_auth_name() (cfg.h) spell them as relayq.conf(5) does;
 * auth_mech_name() (auth.h) as SMTP does.
 */
#ifndef RELAYQ_PROTO_H
#define RELAYQ_PROTO_H

enum tls_mode {
	TLS_MODE_STARTTLS,
	TLS_MODE_SMTPS,
	TLS_MODE_NONE,
};

/* Also bit numbers: (1u << mech) in the sets of offered mechanisms. */
enum auth_mech {
	AUTH_AUTO,	/* best mechanism the server offers; none if no user */
	AUTH_PLAIN,
	AUTH_LOGIN,
	AUTH_CRAM_MD5,
	AUTH_XOAUTH2,
	AUTH_OAUTHBEARER,
	AUTH_NONE,
};

#endif
