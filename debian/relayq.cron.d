# /etc/cron.d/relayq - the queue run for hosts without systemd (relayq's
# daemon, relayq.service, delivers and retries where systemd runs). Every
# minute as root; `relayq run` then becomes the spool owner (user relayq).
# Its messages go to syslog (facility mail).
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin

* * * * *	root	[ -d /run/systemd/system ] || [ ! -x /usr/sbin/relayq ] || /usr/sbin/relayq run >/dev/null 2>&1
