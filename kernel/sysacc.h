/* The system account's traffic (docs/system-account.md): the events the
 * server publishes there with nats-server 2.9's subjects, type strings
 * and JSON keys (client CONNECT/DISCONNECT, account CONNS, AUTH.ERR,
 * STATSZ, LAMEDUCK, SHUTDOWN), the $SYS.REQ.* requests it answers through internal
 * subscriptions, and the account-scoped PING requests every other
 * account reaches as nats-server's automatic imports.
 *
 * Requests are answered by the main thread: the internal subscription's
 * callback (a worker) only queues a copy and wakes the main loop, which
 * builds the document (docs.h: builders belong to the main thread) and
 * posts the reply to a worker to publish. Events about a client are built
 * on its worker and published by a task on that worker, never from
 * inside the routing of another message. */
#ifndef TERN_SYSACC_H
#define TERN_SYSACC_H

#include "client.h"

typedef struct tern_server tern_server;
typedef struct tern_sysacc tern_sysacc;

/* Main thread, once the workers run: subscriptions, timers. 0 or -1. */
int  tern_sysacc_start(tern_server *s);
/* Main thread, before the workers are told to stop: publishes SHUTDOWN,
 * removes the subscriptions, closes the loop handles. Idempotent; a no-op
 * before tern_sysacc_start. */
void tern_sysacc_stop(tern_server *s);
/* Main thread: the server enters lame duck mode (LAMEDUCK event). */
void tern_sysacc_lame_duck(tern_server *s);
/* Main thread, workers paused: the accounts changed (account.h,
 * tern_accounts_switch); new accounts get their automatic imports. */
void tern_sysacc_accounts_changed(tern_server *s);
/* After the workers ended and the main loop ran the close callbacks. */
void tern_sysacc_free(tern_server *s);

/* Client hooks, on the client's worker (or a visitor holding its run
 * lock). connected: first CONNECT accepted. closed: from tern_client_close,
 * before the account's connection count drops. */
void tern_sysacc_client_connected(tern_client *c);
void tern_sysacc_client_closed(tern_client *c, tern_close_reason reason);

#endif
