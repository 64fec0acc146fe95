/*
 * tlssink.c - the SMTP sink of bench/bench.py's table 4b: ESMTP with
 * PIPELINING, STARTTLS and AUTH PLAIN/LOGIN, on one code path for
 * plaintext and TLS, so that a pass with and without STARTTLS+AUTH is
 * measured against the same server.
 *
 * usage: tlssink -c CERT -k KEY [-a USER:PASSWORD]
 *
 * Listens on 127.0.0.1, on a port the kernel picks, and writes "port N"
 * to stdout; then one line "m" per accepted message (a write(2) of two
 * bytes from the connection's process, atomic on a pipe), which bench.py
 * counts as it counts smtp-sink's "mesg=N". Every connection gets a
 * process of its own, so clients with parallel sessions are served in
 * parallel. Replies are buffered and sent when the client's input is used
 * up, as smtp-sink does, so pipelined commands get their replies in one
 * write. AUTH is offered only inside TLS; with -a the credentials must
 * match, without it any are accepted; mail without AUTH is accepted too
 * (the plaintext pass of the same table). TLS 1.2 or newer, with the
 * OpenSSL defaults for session tickets: resumption works across the
 * connection processes, since they share the context's ticket keys.
 * Errors end the connection's process; the listener lives on.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#define IOBUF		(64 * 1024)
#define LINE_MAX_SMTP	4096	/* command lines; body lines may be longer */

struct sess {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	const char *cred;	/* "user:password", or NULL: any */
	int authed;
	char in[IOBUF];
	size_t ilen, ioff;
	char out[IOBUF];
	size_t olen;
};

static void
die(const char *what)
{
	fprintf(stderr, "tlssink: %s: %s\n", what, errno != 0 ?
	    strerror(errno) : "failed");
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* --- I/O ------------------------------------------------------------------ */

static int
sess_flush(struct sess *s)
{
	size_t off = 0;
	ssize_t n;
	int r;

	while (off < s->olen) {
		if (s->ssl != NULL) {
			if ((r = SSL_write(s->ssl, s->out + off,
			    (int)(s->olen - off))) <= 0)
				return -1;
			n = r;
		} else if ((n = write(s->fd, s->out + off,
		    s->olen - off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	s->olen = 0;
	return 0;
}

static int reply(struct sess *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
reply(struct sess *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->out + s->olen, sizeof(s->out) - s->olen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(s->out) - s->olen)
		return -1;
	s->olen += (size_t)n;
	if (s->olen > sizeof(s->out) / 2)
		return sess_flush(s);
	return 0;
}

/* More input; first sends the replies queued so far (the client waits
   for them before it sends more). 0, or -1 at the end or on error. */
static int
sess_fill(struct sess *s)
{
	ssize_t n;
	int r;

	if ((s->ssl == NULL || !SSL_has_pending(s->ssl)) &&
	    sess_flush(s) == -1)
		return -1;
	if (s->ioff > 0) {
		memmove(s->in, s->in + s->ioff, s->ilen - s->ioff);
		s->ilen -= s->ioff;
		s->ioff = 0;
	}
	if (s->ilen == sizeof(s->in))
		return -1;
	for (;;) {
		if (s->ssl != NULL) {
			if ((r = SSL_read(s->ssl, s->in + s->ilen,
			    (int)(sizeof(s->in) - s->ilen))) <= 0)
				return -1;
			n = r;
		} else if ((n = read(s->fd, s->in + s->ilen,
		    sizeof(s->in) - s->ilen)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s->ilen += (size_t)n;
		return 0;
	}
}

/*
 * The next line without CRLF (or LF) in *line, *len; *whole is 0 when it
 * is the first part of a line longer than the buffer. 0, or -1 at the
 * end of the input.
 */
static int
sess_line(struct sess *s, char **line, size_t *len, int *whole)
{
	char *p, *nl;
	size_t avail;

	for (;;) {
		p = s->in + s->ioff;
		avail = s->ilen - s->ioff;
		if ((nl = memchr(p, '\n', avail)) != NULL) {
			s->ioff += (size_t)(nl - p) + 1;
			*len = (size_t)(nl - p);
			if (*len > 0 && p[*len - 1] == '\r')
				(*len)--;
			p[*len] = '\0';
			*line = p;
			*whole = 1;
			return 0;
		}
		if (s->ioff == 0 && s->ilen == sizeof(s->in)) {
			s->ioff = s->ilen - 1;	/* keep a possible CR */
			*line = p;
			*len = s->ioff;
			*whole = 0;
			return 0;
		}
		if (sess_fill(s) == -1)
			return -1;
	}
}

/* --- commands ------------------------------------------------------------- */

static int
cmd_is(const char *line, const char *verb)
{
	size_t n = strlen(verb);

	return strncasecmp(line, verb, n) == 0 &&
	    (line[n] == '\0' || line[n] == ' ' || line[n] == ':');
}

static int
do_ehlo(struct sess *s)
{
	if (reply(s, "250-bench.test\r\n250-PIPELINING\r\n"
	    "250-SIZE 100000000\r\n") == -1)
		return -1;
	if (s->ssl == NULL)
		return reply(s, "250-STARTTLS\r\n250 8BITMIME\r\n");
	return reply(s, "250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
}

static int
do_starttls(struct sess *s)
{
	if (s->ssl != NULL)
		return reply(s, "503 5.5.1 TLS already active\r\n");
	if (s->ioff != s->ilen)	/* pipelined plaintext: refuse */
		return -1;
	if (reply(s, "220 2.0.0 go ahead\r\n") == -1 || sess_flush(s) == -1)
		return -1;
	if ((s->ssl = SSL_new(s->ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1 || SSL_accept(s->ssl) != 1)
		return -1;
	s->authed = 0;
	return 0;
}

/* Base64 b decoded into dst (NUL-terminated); its length or -1. */
static int
b64_decode(const char *b, char *dst, size_t size)
{
	size_t n = strlen(b);
	int len;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 + 1 > size)
		return -1;
	if ((len = EVP_DecodeBlock((unsigned char *)dst,
	    (const unsigned char *)b, (int)n)) < 0)
		return -1;
	len -= (b[n - 1] == '=') + (b[n - 2] == '=');
	dst[len] = '\0';
	return len;
}

static int
cred_ok(const struct sess *s, const char *user, const char *pass)
{
	size_t ul = strlen(user);

	if (s->cred == NULL)
		return 1;
	return strncmp(s->cred, user, ul) == 0 && s->cred[ul] == ':' &&
	    strcmp(s->cred + ul + 1, pass) == 0;
}

/*
 * Prompt, then the next line of an AUTH exchange decoded into dst: its
 * length, -1 when it is no base64, -2 at the end of the input.
 */
static int
auth_read(struct sess *s, const char *prompt, char *dst, size_t size)
{
	char *line;
	size_t len;
	int whole;

	if (reply(s, "334 %s\r\n", prompt) == -1 ||
	    sess_line(s, &line, &len, &whole) == -1 || !whole)
		return -2;
	return b64_decode(line, dst, size);
}

static int
auth_result(struct sess *s, int ok)
{
	s->authed = ok;
	return reply(s, ok ? "235 2.7.0 authenticated\r\n" :
	    "535 5.7.8 bad credentials\r\n");
}

/* "authzid NUL user NUL password", as the initial response or later. */
static int
do_auth_plain(struct sess *s, const char *arg)
{
	char buf[1024], *user, *pass;
	int len;

	if (*arg != '\0')
		len = b64_decode(arg, buf, sizeof(buf));
	else if ((len = auth_read(s, "", buf, sizeof(buf))) == -2)
		return -1;
	if (len < 0 || (user = memchr(buf, '\0', (size_t)len)) == NULL ||
	    (pass = memchr(user + 1, '\0', (size_t)(buf + len - user - 1))) ==
	    NULL)
		return auth_result(s, 0);
	return auth_result(s, cred_ok(s, user + 1, pass + 1));
}

/* The user name, as the initial response or after a prompt, then the
   password. */
static int
do_auth_login(struct sess *s, const char *arg)
{
	char user[512], pass[512];
	int ul, pl;

	if (*arg != '\0')
		ul = b64_decode(arg, user, sizeof(user));
	else if ((ul = auth_read(s, "VXNlcm5hbWU6", user, sizeof(user))) ==
	    -2)
		return -1;
	if ((pl = auth_read(s, "UGFzc3dvcmQ6", pass, sizeof(pass))) == -2)
		return -1;
	return auth_result(s, ul >= 0 && pl >= 0 && cred_ok(s, user, pass));
}

static int
do_auth(struct sess *s, char *arg)
{
	if (s->ssl == NULL)
		return reply(s, "538 5.7.11 encryption required\r\n");
	if (s->authed)
		return reply(s, "503 5.5.1 already authenticated\r\n");
	if (strncasecmp(arg, "PLAIN", 5) == 0 && (arg[5] == '\0' ||
	    arg[5] == ' '))
		return do_auth_plain(s, arg[5] == ' ' ? arg + 6 : "");
	if (strncasecmp(arg, "LOGIN", 5) == 0 && (arg[5] == '\0' ||
	    arg[5] == ' '))
		return do_auth_login(s, arg[5] == ' ' ? arg + 6 : "");
	return reply(s, "504 5.5.4 mechanism not supported\r\n");
}

/* The message up to its final dot, then count it. */
static int
do_data(struct sess *s)
{
	char *line;
	size_t len;
	int whole, start = 1;

	if (reply(s, "354 go ahead\r\n") == -1)
		return -1;
	for (;;) {
		if (sess_line(s, &line, &len, &whole) == -1)
			return -1;
		if (start && whole && len == 1 && line[0] == '.')
			break;
		start = whole;
	}
	if (write(STDOUT_FILENO, "m\n", 2) != 2)
		return -1;
	return reply(s, "250 2.0.0 queued\r\n");
}

static int
command(struct sess *s, char *line)
{
	if (cmd_is(line, "EHLO"))
		return do_ehlo(s);
	if (cmd_is(line, "HELO"))
		return reply(s, "250 bench.test\r\n");
	if (cmd_is(line, "STARTTLS"))
		return do_starttls(s);
	if (cmd_is(line, "AUTH"))
		return do_auth(s, line[4] == ' ' ? line + 5 : line + 4);
	if (cmd_is(line, "MAIL") || cmd_is(line, "RCPT") ||
	    cmd_is(line, "RSET") || cmd_is(line, "NOOP"))
		return reply(s, "250 2.0.0 ok\r\n");
	if (cmd_is(line, "DATA"))
		return do_data(s);
	if (cmd_is(line, "QUIT")) {
		(void)reply(s, "221 2.0.0 bye\r\n");
		return -1;
	}
	return reply(s, "502 5.5.2 unknown command\r\n");
}

static void
session(int fd, SSL_CTX *ctx, const char *cred)
{
	struct sess *s;
	char *line;
	size_t len;
	int whole;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		die("calloc");
	s->fd = fd;
	s->ctx = ctx;
	s->cred = cred;
	if (reply(s, "220 bench.test ESMTP tlssink\r\n") == -1)
		_exit(1);
	while (sess_line(s, &line, &len, &whole) == 0) {
		if (!whole || len > LINE_MAX_SMTP) {
			if (reply(s, "500 5.5.2 line too long\r\n") == -1)
				break;
			continue;
		}
		if (command(s, line) == -1)
			break;
	}
	(void)sess_flush(s);
	if (s->ssl != NULL) {
		(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	_exit(0);
}

/* --- the listener --------------------------------------------------------- */

static SSL_CTX *
server_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		die("SSL_CTX_new");
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		die("TLS 1.2 minimum");
	SSL_CTX_set_read_ahead(ctx, 1);	/* a record per read(2) */
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		die(cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		die(key);
	return ctx;
}

static int
listener(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char msg[32];
	int fd, n;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		die("listen on 127.0.0.1");
	n = snprintf(msg, sizeof(msg), "port %u\n", ntohs(sin.sin_port));
	if (write(STDOUT_FILENO, msg, (size_t)n) != n)
		die("stdout");
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: tlssink -c CERT -k KEY [-a USER:PASSWORD]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *cert = NULL, *key = NULL, *cred = NULL;
	SSL_CTX *ctx;
	pid_t pid;
	int ch, lfd, fd;

	while ((ch = getopt(argc, argv, "a:c:k:")) != -1) {
		switch (ch) {
		case 'a':
			cred = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		default:
			usage();
		}
	}
	if (cert == NULL || key == NULL || optind != argc ||
	    (cred != NULL && strchr(cred, ':') == NULL))
		usage();
	/* children are reaped by the kernel; a gone client is EPIPE */
	if (signal(SIGCHLD, SIG_IGN) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	ctx = server_ctx(cert, key);
	lfd = listener();
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		if ((pid = fork()) == -1)
			die("fork");
		if (pid == 0) {
			close(lfd);
			session(fd, ctx, cred);
		}
		close(fd);
	}
}
