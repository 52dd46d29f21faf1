/* /subsz: sublist statistics over the accounts, and with subs=1 the
 * client subscriptions (copied by their workers), optionally only those a
 * message on `test` would reach. As nats-server, an empty listing prints
 * the statistics object alone, and "total" is the size of the page. */
#include "docs_int.h"

#include <stdio.h>
#include <string.h>

#include "account.h"
#include "server.h"
#include "sublist.h"
#include "xalloc.h"

int tern_docs_subsz_parse(tern_docs_param_fn get, void *ud, tern_docs_subsz_opts *o,
                          char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    if (tern_docs_param_bool(get, ud, "subs", &o->subs, err, errlen) != 0 ||
        tern_docs_param_int(get, ud, "offset", &o->offset, err, errlen) != 0 ||
        tern_docs_param_int(get, ud, "limit", &o->limit, err, errlen) != 0)
        return -1;
    o->test = tern_docs_param(get, ud, "test");
    o->acc = tern_docs_param(get, ud, "acc");
    return 0;
}

/* Would a message on the literal subject reach a subscription on sub?
 * Token by token: `*` takes one token, `>` the rest (at least one). */
static bool match_literal(const char *lit, const char *sub)
{
    const char *l = lit, *p = sub;
    for (;;) {
        const char *le = strchr(l, '.'), *pe = strchr(p, '.');
        size_t ll = le ? (size_t)(le - l) : strlen(l);
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        if (pl == 1 && p[0] == '>' && !pe)
            return true;
        if (!(pl == 1 && p[0] == '*') && (pl != ll || memcmp(l, p, ll) != 0))
            return false;
        if (!le || !pe)
            return !le && !pe;
        l = le + 1;
        p = pe + 1;
    }
}

json_t *tern_docs_subsz(tern_server *s, const tern_docs_subsz_opts *o, char *err, size_t errlen)
{
    int offset = o->offset < 0 ? 0 : o->offset;
    int limit = o->limit <= 0 ? TERN_DOCS_DEFAULT_LIMIT : o->limit;
    bool test = o->test && *o->test;
    if (test && !tern_subject_valid(o->test, strlen(o->test), false)) {
        if (err && errlen)
            snprintf(err, errlen, "invalid test subject, must be valid publish subject: %s",
                     o->test);
        return NULL;
    }
    bool by_acc = o->acc && *o->acc;
    int64_t now = tern_docs_now_ns();

    tern_docs_snapshot snap;
    tern_docs_snapshot_take(s, o->subs ? TERN_DOCS_SNAP_CONNS | TERN_DOCS_SNAP_SUBS : 0,
                            TERN_DOCS_WAIT_MS, &snap);
    tern_account *const *accs;
    size_t naccs = tern_docs_accounts(s, &accs);
    tern_docs_slstats st = {0};
    for (size_t i = 0; i < naccs; i++)
        if (!by_acc || !strcmp(accs[i]->name, o->acc))
            tern_docs_slstats_add(&st, accs[i], &snap, i);

    json_t *list = json_array();
    size_t matched = 0;
    for (size_t i = 0; o->subs && i < snap.n; i++) {
        const tern_docs_conn *c = &snap.conns[i];
        if (by_acc && strcmp(c->account ? c->account : "", o->acc) != 0)
            continue;
        for (size_t k = 0; k < c->nsubs_copied; k++) {
            const tern_docs_sub *sd = &c->subs[k];
            if (test && !match_literal(o->test, sd->subject))
                continue;
            if (matched++ < (size_t)offset || json_array_size(list) >= (size_t)limit)
                continue;
            json_t *d = json_object();
            if (c->account)
                json_object_set_new(d, "account", tern_docs_str(c->account));
            json_object_set_new(d, "subject", tern_docs_str(sd->subject));
            if (sd->queue)
                json_object_set_new(d, "qgroup", tern_docs_str(sd->queue));
            json_object_set_new(d, "sid", tern_docs_str(sd->sid));
            json_object_set_new(d, "msgs", json_integer((json_int_t)sd->msgs));
            if (sd->max)
                json_object_set_new(d, "max", json_integer((json_int_t)sd->max));
            json_object_set_new(d, "cid", json_integer((json_int_t)c->cid));
            json_array_append_new(list, d);
        }
    }
    tern_docs_snapshot_free(&snap);

    json_t *doc = json_object();
    if (json_array_size(list) == 0) {
        json_decref(list);
        tern_docs_slstats_put(doc, &st);
        return doc;
    }
    json_object_set_new(doc, "server_id", json_string(s->server_id));
    json_object_set_new(doc, "now", tern_docs_time(now));
    tern_docs_slstats_put(doc, &st);
    json_object_set_new(doc, "total", json_integer((json_int_t)json_array_size(list)));
    json_object_set_new(doc, "offset", json_integer(offset));
    json_object_set_new(doc, "limit", json_integer(limit));
    json_object_set_new(doc, "subscriptions_list", list);
    return doc;
}
