/* The committed example conf.d/examples/10-accounts.yaml works as its
 * comments say: SHIPPING asks ORDERS' pricing service and receives ORDERS'
 * order events, and sees nothing else of ORDERS; the restricted users are
 * restricted. (ternd only: the file is Tern's YAML.) */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* `ternd -t -c <file>` accepts every example in dir. */
static void check_examples(const char *dir)
{
    const char *ternd = getenv("TERN_TERND");
    if (!IT_CHECK(ternd != NULL, "TERN_TERND names ternd"))
        return;
    DIR *d = opendir(dir);
    if (!IT_CHECK(d != NULL, "open %s", dir))
        return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        pid_t pid = fork();
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stdout))
                _exit(126);
            execl(ternd, ternd, "-t", "-c", path, (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        IT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ternd -t accepts %s", e->d_name);
        n++;
    }
    closedir(d);
    IT_CHECK(n >= 7, "every example was checked (%d)", n);
}

static natsConnection *login(const it_server *s, const char *user, const char *pass)
{
    natsConnection *nc = it_nats_login(s, user, pass);
    IT_CHECK(nc != NULL, "%s logs in", user);
    return nc;
}

static void on_quote(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)sub;
    (void)closure;
    natsConnection_PublishString(nc, natsMsg_GetReply(m), "42.00");
    natsMsg_Destroy(m);
}

int main(void)
{
    /* the example sits at conf.d/examples/ of the source tree */
    char path[1024];
    snprintf(path, sizeof path, "%s", __FILE__);
    char *cut = strstr(path, "tests/integration/");
    if (!IT_CHECK(cut != NULL, "source path known"))
        return it_summary();
    strcpy(cut, "conf.d/examples");
    if (strcmp(it_server_kind(), "nats-server") != 0)
        check_examples(path);
    strcat(path, "/10-accounts.yaml");
    char *yaml = it_read_file(path, NULL);
    if (!IT_CHECK(yaml != NULL, "read %s", path))
        return it_summary();
    if (it_ternd_only()) {
        free(yaml);
        return it_summary();
    }
    it_server s;
    it_opts o = {.auth_yaml = yaml};
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server starts with the example")) {
        free(yaml);
        return it_summary();
    }
    natsConnection *orders = login(&s, "orders", "orders-secret");
    natsConnection *pricer = login(&s, "pricer", "pricer-secret");
    natsConnection *ship = login(&s, "shipping", "shipping-secret");
    natsConnection *ro = login(&s, "shipping-ro", "readonly");
    natsSubscription *quote = NULL, *events = NULL, *all = NULL, *ro_events = NULL;
    if (!orders || !pricer || !ship || !ro)
        goto out;
    natsConnection_Subscribe(&quote, pricer, "pricing.quote", on_quote, NULL);
    natsConnection_Flush(pricer);
    natsConnection_SubscribeSync(&events, ship, "from-orders.orders.events.>");
    natsConnection_SubscribeSync(&all, ship, ">");
    natsConnection_SubscribeSync(&ro_events, ro, "from-orders.>");
    natsConnection_Flush(ship);
    natsConnection_Flush(ro);

    natsMsg *resp = NULL;
    natsStatus st = natsConnection_RequestString(&resp, ship, "prices.quote", "sku-1", 5000);
    IT_CHECK(st == NATS_OK && !strcmp(natsMsg_GetData(resp), "42.00"),
             "SHIPPING gets a quote from ORDERS' service (%s)", natsStatus_GetText(st));
    natsMsg_Destroy(resp);

    natsConnection_PublishString(orders, "orders.internal", "private");
    natsConnection_PublishString(orders, "orders.events.created", "order 1");
    natsConnection_Flush(orders);
    natsMsg *m = NULL;
    st = natsSubscription_NextMsg(&m, events, 5000);
    IT_CHECK(st == NATS_OK && !strcmp(natsMsg_GetSubject(m), "from-orders.orders.events.created"),
             "SHIPPING receives ORDERS' event under its prefix");
    natsMsg_Destroy(m);
    m = NULL;
    st = natsSubscription_NextMsg(&m, ro_events, 5000);
    IT_CHECK(st == NATS_OK, "the read-only user receives it too");
    natsMsg_Destroy(m);
    /* `>` in SHIPPING: its own request traffic and the event, never
     * "orders.internal" (per-publisher order: it would come first) */
    int n = 0;
    bool leaked = false, event = false;
    while (!event && natsSubscription_NextMsg(&m, all, 5000) == NATS_OK) {
        leaked |= strstr(natsMsg_GetSubject(m), "internal") != NULL;
        event = !strcmp(natsMsg_GetSubject(m), "from-orders.orders.events.created");
        natsMsg_Destroy(m);
        n++;
    }
    IT_CHECK(event && !leaked, "SHIPPING's '>' sees the event and nothing private of ORDERS");

    /* shipping-ro may not publish at all */
    natsConnection_PublishString(ro, "shipping.x", "no");
    st = natsConnection_FlushTimeout(ro, 2000);
    const char *last = NULL;
    natsConnection_GetLastError(ro, &last);
    IT_CHECK(last && strstr(last, "Permissions Violation for Publish to \"shipping.x\""),
             "the read-only user's publish is refused: %s", last ? last : "(no error)");
out:
    natsSubscription_Destroy(quote);
    natsSubscription_Destroy(events);
    natsSubscription_Destroy(all);
    natsSubscription_Destroy(ro_events);
    natsConnection_Destroy(orders);
    natsConnection_Destroy(pricer);
    natsConnection_Destroy(ship);
    natsConnection_Destroy(ro);
    it_server_stop(&s);
    free(yaml);
    return it_summary();
}
