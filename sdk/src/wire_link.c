/* What every link module needs beside the wire (wire.h): clocks, and its
 * state by module handle. Each module links its own copy of this static
 * library, so the table below is per module. */
#include <pthread.h>
#include <time.h>

#include "tern/wire.h"

uint64_t tern_wire_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t tern_wire_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t tern_wire_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define MAX_INSTANCES 8
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { const void *m; void *state; } g_inst[MAX_INSTANCES];

void tern_wire_instance_set(const void *m, void *state)
{
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < MAX_INSTANCES; i++) {
        if (state && !g_inst[i].m) {
            g_inst[i].m = m, g_inst[i].state = state;
            break;
        }
        if (!state && g_inst[i].m == m) {
            g_inst[i].m = NULL, g_inst[i].state = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&g_mu);
}

void *tern_wire_instance(const void *m)
{
    void *state = NULL;
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < MAX_INSTANCES; i++)
        if (g_inst[i].m == m)
            state = g_inst[i].state;
    pthread_mutex_unlock(&g_mu);
    return state;
}
