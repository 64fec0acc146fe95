/*
 * smtp.h - the SMTP client: one session with the smarthost, many messages.
 *
 * smtp_open() connects, reads the greeting, says EHLO, starts TLS
 * (STARTTLS or implicit) with verification, says EHLO again and
 * authenticates. smtp_send() runs one mail transaction (MAIL, RCPT...,
 * DATA, pipelined when offered) and reports per recipient. smtp_close()
 * says QUIT and frees everything.
 *
 * Failure policy: every session-level failure (connect, greeting, EHLO,
 * TLS, AUTH, timeouts, protocol violations, lost connection) is RQ_TEMP:
 * the mail stays queued with err->msg as the reason. Only replies to a
 * specific transaction (MAIL/RCPT/DATA/end of data) may be RQ_PERM, and
 * only per recipient. No message and no credential is sent unless the
 * configured transport security is in place.
 */
#ifndef RELAYQ_SMTP_H
#define RELAYQ_SMTP_H

#include <stddef.h>
#include <sys/types.h>
#include "dsn.h"
#include "err.h"
#include "proto.h"

struct smtp_session;
struct reply_caps;
struct tls_cache;
struct tls_peer;

/*
 * The steps an observer (relayq test, relayq probe) is told about, in
 * the order they happen. There is one SMTP client: the observer only
 * watches the state machine that delivers mail.
 */
enum smtp_step {
	SMTP_STEP_RESOLVE,	/* detail: every address, or the failure */
	SMTP_STEP_CONNECT,	/* one per address tried; errnum */
	SMTP_STEP_TLS,		/* handshake (implicit or after STARTTLS);
				   peer: certificate and verification */
	SMTP_STEP_GREETING,
	SMTP_STEP_EHLO,		/* caps: what the server offers */
	SMTP_STEP_STARTTLS,
	SMTP_STEP_AUTH_CHOICE,	/* auth_offered, auth_chosen, or why none */
	SMTP_STEP_AUTH,		/* the server's verdict on the credentials */
	SMTP_STEP_MAIL,
	SMTP_STEP_RCPT,
	SMTP_STEP_DATA,
	SMTP_STEP_EOD,		/* the reply to the message's final dot */
	SMTP_STEP_N
};

struct smtp_event {
	enum smtp_step step;
	int ok;			/* the step did what it should */
	long ms;		/* how long it took */
	int code;		/* the server's reply code; 0: none */
	int timed_out;		/* it ran out of time */
	int errnum;		/* RESOLVE/CONNECT: errno of the failure */
	const char *detail;	/* one line: what was seen, or why not
				   (server text sanitized) */
	const struct reply_caps *caps;	/* EHLO, else NULL */
	const struct tls_peer *peer;	/* TLS, else NULL */
	unsigned auth_offered;	/* AUTH_CHOICE: bits (1u << mech) */
	enum auth_mech auth_chosen;	/* AUTH_CHOICE: AUTH_NONE if none */
};

/* Called synchronously for every step; must not call back into smtp. */
typedef void smtp_observe_fn(void *arg, const struct smtp_event *ev);

/* "resolve", "connect", "TLS", ...: for reports. */
const char *smtp_step_name(enum smtp_step st);

struct smtp_params {
	const char *host;
	const char *port;
	enum tls_mode tls;
	int tls_verify;
	const char *ca_file;		/* NULL: system store */
	const char *fingerprint;	/* NULL: no pin */
	const char *cert_file;		/* client certificate, or NULL */
	const char *key_file;
	struct tls_cache *tls_cache;	/* NULL, or shared by the sessions
					   of one route (tls.h) */
	enum auth_mech auth;
	const char *user;		/* NULL: no AUTH */
	const char *password;
	int plaintext_auth;		/* AUTH allowed without TLS */
	const char *helo;		/* our EHLO name */
	int timeout;			/* base seconds; 0: defaults */
	int greeting_timeout;		/* > 0: at most this for the greeting
					   (a TLS port waits for our hello
					   and never greets) */
	int verbose;			/* dialogue to stderr, secrets masked */
	/*
	 * NULL, or where smtp_open() says, when it fails, whether the
	 * server could not be reached at all (name lookup, connect, TLS
	 * handshake, greeting, or a 421 reply): 1, so that another route
	 * may carry the mail; 0 for a failure after the server talked
	 * (EHLO, STARTTLS refused or not offered, AUTH).
	 */
	int *unreachable;
	/*
	 * NULL, or set to 1 when the server refused an XOAUTH2 or
	 * OAUTHBEARER token after an error challenge (334, then 535 or
	 * 454): the token has expired; a fresh one may be tried.
	 */
	int *token_refused;
	/*
	 * NULL, or set to 1 when the server refused the credentials
	 * (AUTH answered 535, or any 5xx with 5.7.8): a wrong user name or
	 * password, which retrying will not fix (authpause.h).
	 */
	int *auth_refused;
	smtp_observe_fn *observe;	/* NULL: nobody watches */
	void *observe_arg;
};

/*
 * One message of size bytes: head[0..head_len) (a rewritten header
 * block, or nothing), then the rest from fd at [offset, offset + size -
 * head_len). Both go through the same DATA encoder; SIZE= is size.
 */
struct smtp_msg {
	const char *sender;		/* "" for the null sender <> */
	const char *const *rcpts;
	size_t nrcpt;
	int fd;
	off_t offset;
	off_t size;
	const char *head;		/* NULL: all from fd */
	size_t head_len;
	int body_8bit;			/* ask BODY=8BITMIME when offered */
	int smtputf8;			/* ask SMTPUTF8 when offered */
	const struct dsn_req *dsn;	/* NULL or the message's request:
					   RET/ENVID/NOTIFY/ORCPT are sent
					   only when DSN is offered */
};

struct smtp_rcpt_result {
	enum rq_status status;		/* RQ_OK delivered, RQ_TEMP, RQ_PERM */
	int code;			/* the reply to RCPT when it refused */
	char text[512];			/* the server's reply, or our reason */
};

enum rq_status smtp_open(struct smtp_session **out,
    const struct smtp_params *p, struct err *e);
/*
 * Returns RQ_OK when the transaction finished (res[i] says what happened
 * to rcpts[i]); RQ_TEMP when the session broke (res[] filled with RQ_TEMP
 * and the reason; the caller must smtp_close() and may reconnect).
 */
enum rq_status smtp_send(struct smtp_session *s, const struct smtp_msg *m,
    struct smtp_rcpt_result *res, struct err *e);
/* "host[addr]:port", for logs and reasons. */
const char *smtp_peer(const struct smtp_session *s);
/* TLS protocol/cipher, or "" without TLS. */
const char *smtp_tls_info(const struct smtp_session *s);
void smtp_close(struct smtp_session *s);
/*
 * Before reusing a session that sat idle (the server may have timed it
 * out): RSET and its 2xx. RQ_TEMP when the session is no longer usable;
 * the caller then smtp_close()s it and opens another.
 */
enum rq_status smtp_reset(struct smtp_session *s, struct err *e);

/*
 * The DATA encoder (RFC 5321 4.5.2), pure so that it is tested alone.
 * The stored message has LF line ends and may hold bare CR and NUL bytes.
 * LF, CR and CRLF each end a line and become CRLF; NUL bytes are dropped;
 * every line that then starts with '.' gets one more '.'. So no input can
 * put a bare CR or LF on the wire or end the data early ("\n.\n",
 * "\r.\r", "\r\n\0.\r\n": SMTP smuggling). Input may be split anywhere
 * across calls.
 */
struct smtp_data_enc {
	int bol;	/* the next byte starts a line */
	int cr;		/* the last byte (NULs aside) was a CR */
};

#define SMTP_DATA_OUT(n)	(2 * (n))	/* output room for n bytes */
#define SMTP_DATA_TAIL		5		/* room for the end */

void smtp_data_init(struct smtp_data_enc *d);
/* Encode in[0..n) into out (SMTP_DATA_OUT(n) bytes); returns bytes put. */
size_t smtp_data_encode(struct smtp_data_enc *d, const char *in, size_t n,
    char *out);
/*
 * The end: CRLF unless at the start of a line, then ".\r\n", into out
 * (SMTP_DATA_TAIL bytes); returns bytes put. d is ready for reuse.
 */
size_t smtp_data_finish(struct smtp_data_enc *d, char *out);

/*
 * More on smtp_send(): a recipient whose outcome was already final when
 * the session broke (say, a 550 to its RCPT) keeps it in res[]; only the
 * others get RQ_TEMP. Nothing is sent for a message that cannot succeed
 * on this server (SIZE over the advertised limit, SMTPUTF8 needed but not
 * offered, an address with control characters or '<' '>'): those
 * recipients get RQ_PERM and smtp_send returns RQ_OK.
 */

/* Name of a session state (the client's state machine), for logs/tests. */
const char *smtp_state_name(int state);

#endif
