#!/bin/bash
# relayq e2e: the TLS matrix, for STARTTLS and for implicit TLS (smtps).
# Server certificates (made with the openssl CLI at test time): self-signed,
# expired, not yet valid, for another name, from an untrusted root, a leaf
# whose intermediate the server does not send, an RSA 1024 key, wildcard
# edge cases (*.example.test must match a.example.test but neither
# example.test nor a.b.example.test; f*.example.test must not match
# foo.example.test; *.localhost must not match a.localhost), a server that
# speaks only TLS 1.0/1.1; for smtps a plaintext answer on the TLS port; for
# STARTTLS: not offered, answered 454, plaintext injected after the 220
# (in the same packet, and a moment later).  Every one fails closed: no AUTH,
# no MAIL (the server's log proves it), the password never on the wire, the
# message stays queued with a clear reason.  Positive controls (right CA,
# right name; a full chain; the good wildcard) deliver in each mode.  The
# system store (no ca_file) is tried through its directory and through its
# bundle, each alone.
# The wildcard cases need host names that resolve to 127.0.0.1: they run
# `sendmail -q` under `unshare -m` with a private /etc/hosts bind-mounted
# (root, or unprivileged user namespaces); without that they are skipped
# with a warning.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./faults_lib.sh
. "$RELAYQ_E2E_DIR/faults_lib.sh"
faults_init
make_certs

# --- more certificates ---------------------------------------------------------
C=$T0
ossl() { openssl "$@" >>"$C/openssl.log" 2>&1 || { cat "$C/openssl.log"; die "openssl $1 failed"; }; }
# leaf NAME SAN [KEYSPEC]: key and CSR for a server certificate, and its
# extensions file.
leaf() {
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" "subjectAltName=$2" >"$C/$1.ext"
	ossl req -new -newkey "${3:-ec}" ${3:+} $([ "${3:-ec}" = ec ] && echo -pkeyopt ec_paramgen_curve:prime256v1) \
		-nodes -keyout "$C/$1.key" -out "$C/$1.csr" -subj "/CN=${2#DNS:}"
}
# sign NAME ISSUER: sign with `openssl x509 -req` for 2 days.
sign() {
	ossl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" \
		-CAcreateserial -out "$C/$1.pem" -days 2 -extfile "$C/$1.ext"
}
# sign_dates NAME START END: signed by the test CA with explicit dates
# (openssl ca, since openssl x509 cannot date backwards).
mkdir -p "$C/ca.db/new"
: >"$C/ca.db/index.txt"
echo 1000 >"$C/ca.db/serial"
cat >"$C/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $C/ca.db/index.txt
new_certs_dir = $C/ca.db/new
serial = $C/ca.db/serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
CNF
sign_dates() {
	ossl ca -batch -config "$C/ca.cnf" -cert "$C/ca.pem" -keyfile "$C/ca.key" \
		-in "$C/$1.csr" -out "$C/$1.pem" -notext -startdate "$2" -enddate "$3" \
		-extfile "$C/$1.ext"
}
leaf expired "DNS:localhost"
sign_dates expired 20200101000000Z 20200201000000Z
leaf notyet "DNS:localhost"
sign_dates notyet 20990101000000Z 20991231000000Z
# self-signed, for the right name
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$C/selfsigned.key" -out "$C/selfsigned.pem" -days 2 -subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost"
# an intermediate CA under the test CA, and a leaf under it
printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
	"keyUsage=critical,keyCertSign,cRLSign" >"$C/inter.ext"
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$C/inter.key" -out "$C/inter.csr" -subj "/CN=relayq e2e intermediate"
sign inter ca
leaf chained "DNS:localhost"
sign chained inter
cat "$C/chained.pem" "$C/inter.pem" >"$C/fullchain.pem"
# RSA 1024
leaf weak "DNS:localhost" rsa:1024
sign weak ca
# wildcards
leaf wild "DNS:*.example.test"
sign wild ca
leaf partialwild "DNS:f*.example.test"
sign partialwild ca
leaf wildlocal "DNS:*.localhost"
sign wildlocal ca
chmod 600 "$C"/*.key
openssl x509 -in "$C/expired.pem" -noout -dates | tr '\n' ' ' | sed 's/^/# expired cert: /'; echo
openssl x509 -in "$C/notyet.pem" -noout -dates | tr '\n' ' ' | sed 's/^/# not-yet-valid cert: /'; echo

# Can we give sendmail -q a private /etc/hosts?
printf '127.0.0.1 localhost example.test a.example.test a.b.example.test foo.example.test a.localhost\n' >"$C/hosts"
HOSTS_NS=0
if command -v unshare >/dev/null 2>&1 &&
	unshare -m sh -c "mount --bind '$C/hosts' /etc/hosts && getent hosts a.b.example.test" >/dev/null 2>&1; then
	HOSTS_NS=1
	UNSHARE="unshare -m"
elif command -v unshare >/dev/null 2>&1 &&
	unshare -rm sh -c "mount --bind '$C/hosts' /etc/hosts && getent hosts a.b.example.test" >/dev/null 2>&1; then
	HOSTS_NS=1
	UNSHARE="unshare -rm"
fi
[ "$HOSTS_NS" = 1 ] || warn "no mount namespace for a private /etc/hosts: wildcard cases skipped"

PW_RE=$E2E_PASS_RE

# The system store (no ca_file), as OpenSSL finds it: SSL_CERT_DIR, a
# directory of hashed names, and SSL_CERT_FILE, a bundle. relayq reads the
# bundle only when the directory has no CA for the chain: each must work
# alone, and neither may trust the wrong CA.
for d in sysdir:ca wrongdir:wrongca emptydir:; do
	mkdir -p "$C/${d%%:*}"
	[ -n "${d#*:}" ] && cp "$C/${d#*:}.pem" "$C/${d%%:*}/"
	ossl rehash "$C/${d%%:*}"
done
# A bundle that would block whoever opens it: a chain found in the
# directory must not open the bundle at all.
mkfifo "$C/fifo.pem" || die "mkfifo"

# tls_case MODE EXPECT HOST CERT SCRIPT [server options...]
#   MODE starttls|smtps (relayq's tls =); EXPECT DELIVERED or a reason ERE;
#   HOST the smarthost name in relayq.conf; CERT the server certificate (a
#   name in $C, or "none" for a plain server). With SYSTEM="DIR FILE" (in
#   $C) the route has no ca_file and the run gets SSL_CERT_DIR=DIR and
#   SSL_CERT_FILE=FILE.
tls_case() {
	_mode=$1 _exp=$2 _host=$3 _cert=$4 _script=$5
	shift 5
	_ca=$C/ca.pem _env=
	if [ -n "${SYSTEM:-}" ]; then
		_ca= _env="env SSL_CERT_DIR=$C/${SYSTEM% *} SSL_CERT_FILE=$C/${SYSTEM#* }"
	fi
	_n=${T##*/case.}
	_smode=$_mode
	_certopt="--cert $C/$_cert.pem --key $C/$_cert.key"
	case $_cert in
	none) _smode=plain _certopt= ;;
	fullchain) _certopt="--cert $C/fullchain.pem --key $C/chained.key" ;;
	esac
	# shellcheck disable=SC2086
	start_scripted srv "$_script" --mode "$_smode" $_certopt "$@"
	CONF=$T/relayq.conf
	write_config "$CONF" host="$_host" tls="$_mode" ca_file="$_ca" \
		extra="timeout = 3s"
	fault_message "$T/msg" "tls $_n"
	sm -C "$CONF" -odq -i bob@example.org <"$T/msg"
	expect_rc "$_n: sendmail -odq" 0
	if [ "$_host" = localhost ]; then
		# shellcheck disable=SC2086
		run $_env "$RELAYQ_SBIN/sendmail" -C "$CONF" -q
	else
		run $UNSHARE sh -c 'mount --bind "$1" /etc/hosts && exec "$2" -C "$3" -q' \
			sh "$C/hosts" "$RELAYQ_SBIN/sendmail" "$CONF"
	fi
	check_match "$_n: sendmail -q exits 0 or 75" '^(0|75)$' "$RC"
	check_no_cleartext "$SH_LOG"
	if [ "$_exp" = DELIVERED ]; then
		check_eq "$_n: delivered (positive control)" 1 "$(received_count)"
		check_eq "$_n: over TLS" true "$(jget "$SH_RX/0001.json" tls)"
		check_grep "$_n: AUTH inside TLS" '\* AUTH .*: ok' "$SH_LOG"
		check_queue_empty "$_n: queue empty" "$CONF"
		return
	fi
	check_eq "$_n: nothing delivered" 0 "$(received_count)"
	check_not_sent "$_n: no AUTH" AUTH "$SH_LOG"
	check_not_sent "$_n: no MAIL" MAIL "$SH_LOG"
	check_not_sent "$_n: no RCPT" RCPT "$SH_LOG"
	check_no_grep "$_n: the password never reached the server" "$PW_RE" "$SH_LOG"
	check_queued "$_n" "$CONF" "$_exp"
}

for m in starttls smtps; do
	run_case $m-control tls_case $m DELIVERED localhost server '{}'
	run_case $m-fullchain tls_case $m DELIVERED localhost fullchain '{}'
	run_case $m-selfsigned tls_case $m 'certificate verify failed: self.signed certificate' localhost selfsigned '{}'
	run_case $m-expired tls_case $m 'certificate verify failed: certificate has expired' localhost expired '{}'
	run_case $m-notyet tls_case $m 'certificate verify failed: certificate is not yet valid' localhost notyet '{}'
	run_case $m-wrongname tls_case $m 'certificate verify failed: hostname mismatch' localhost othername-server '{}'
	run_case $m-untrusted-root tls_case $m 'certificate verify failed: unable to get local issuer certificate' localhost wrong-server '{}'
	run_case $m-no-intermediate tls_case $m 'certificate verify failed: unable to get local issuer certificate' localhost chained '{}'
	run_case $m-rsa1024 tls_case $m 'certificate verify failed: .*key too (small|weak)' localhost weak '{}' --seclevel 0
	run_case $m-tls11-only tls_case $m 'TLS: handshake failed: .*(protocol|version)' localhost server '{}' \
		--tls-min 1 --tls-max 1.1 --seclevel 0
	if [ "$HOSTS_NS" = 1 ]; then
		run_case $m-wildcard-ok tls_case $m DELIVERED a.example.test wild '{}'
		run_case $m-wildcard-apex tls_case $m 'hostname mismatch' example.test wild '{}'
		run_case $m-wildcard-2labels tls_case $m 'hostname mismatch' a.b.example.test wild '{}'
		run_case $m-wildcard-partial tls_case $m 'hostname mismatch' foo.example.test partialwild '{}'
		run_case $m-wildcard-localhost tls_case $m 'hostname mismatch' a.localhost wildlocal '{}'
	fi
done
SYSTEM="sysdir fifo.pem" run_case system-dir tls_case starttls DELIVERED localhost server '{}'
SYSTEM="emptydir ca.pem" run_case system-bundle tls_case starttls DELIVERED localhost server '{}'
SYSTEM="wrongdir wrongca.pem" run_case system-untrusted tls_case starttls \
	'certificate verify failed: unable to get local issuer certificate' localhost server '{}'
SYSTEM="sysdir ca.pem" run_case system-wrongname tls_case starttls \
	'certificate verify failed: hostname mismatch' localhost othername-server '{}'
run_case smtps-plaintext-465 tls_case smtps 'TLS: handshake failed' localhost none '{}'
run_case starttls-stripped tls_case starttls 'STARTTLS not offered' localhost server '{"offer": {"starttls": false}}'
run_case starttls-454 tls_case starttls 'said after STARTTLS: 454' localhost server \
	'{"starttls": [["send", "454 4.7.0 TLS not available due to temporary reason\r\n"]]}'
run_case starttls-inject tls_case starttls 'possible injection' localhost server \
	'{"starttls": [["send", "220 2.0.0 Ready to start TLS\r\n250-injected.test\r\n250 AUTH PLAIN LOGIN\r\n"], ["tls"]]}'
run_case starttls-inject-late tls_case starttls 'TLS: handshake failed|possible injection' localhost server \
	'{"starttls": [["send", "220 2.0.0 Ready to start TLS\r\n"], ["sleep", 0.3], ["send", "250-injected.test\r\n250 AUTH PLAIN LOGIN\r\n"], ["tls"]]}'
cases_wait

# The TLS 1.1 server really speaks TLS 1.1 (else that case proves little).
start_scripted tls11probe '{}' --mode smtps --cert "$C/server.pem" --key "$C/server.key" \
	--tls-min 1 --tls-max 1.1 --seclevel 0
if echo QUIT | timeout 10 openssl s_client -connect "127.0.0.1:$SH_PORT" -tls1_1 \
	-cipher 'DEFAULT:@SECLEVEL=0' >"$T/probe.out" 2>&1 </dev/null; then :; fi
if grep -q 'Protocol *: TLSv1.1' "$T/probe.out"; then
	ok "the TLS 1.1-only server does speak TLS 1.1 (openssl s_client)"
else
	warn "could not confirm that the TLS 1.1-only server speaks TLS 1.1 (this OpenSSL may lack it): $(grep -m1 -iE 'error|alert|Protocol' "$T/probe.out")"
fi
e2e_finish
