/* device_share.c - gathering the ranks' device UUIDs and finding ranks that
 * share a device (see device_share.h).
 *
 * The gather is an all-reduce of doubles, which every communicator has:
 * rank r writes its 16 bytes, each plus one, into its own row of a zeroed
 * size x 16 table and the sum fills every row; a row of zeros is a rank
 * without a device. */
#include "comm/device_share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kurc_status kurc_comm_gather_devices(struct kurc_comm *c, const struct kurc_rank_device *mine,
                                          struct kurc_rank_device *all, struct kurc_err *err) {
    size_t n = (size_t)c->size * KURC_UUID_BYTES;
    double *table = calloc(n, sizeof *table);
    if (!table)
        return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: out of memory", c->rank);
    if (mine->has)
        for (int i = 0; i < KURC_UUID_BYTES; i++)
            table[(size_t)c->rank * KURC_UUID_BYTES + i] = mine->uuid[i] + 1.0;
    enum kurc_status st = c->ops->allreduce_double(c, table, (int64_t)n, err);
    for (int r = 0; st == KURC_OK && r < c->size; r++) {
        const double *row = table + (size_t)r * KURC_UUID_BYTES;
        all[r].has = false;
        for (int i = 0; i < KURC_UUID_BYTES; i++) {
            all[r].has |= row[i] != 0;
            all[r].uuid[i] = row[i] > 0 ? (unsigned char)(row[i] - 1) : 0;
        }
    }
    free(table);
    return st;
}

bool kurc_devices_shared(const struct kurc_rank_device *all, int size, int *a, int *b) {
    for (int j = 1; j < size; j++)
        for (int i = 0; i < j; i++)
            if (all[i].has && all[j].has && memcmp(all[i].uuid, all[j].uuid, KURC_UUID_BYTES) == 0) {
                *a = i;
                *b = j;
                return true;
            }
    return false;
}

void kurc_uuid_format(const unsigned char uuid[KURC_UUID_BYTES], char *buf, size_t size) {
    const unsigned char *u = uuid;
    snprintf(buf, size,
             "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
             u[15]);
}
