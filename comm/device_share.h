/* device_share.h - which ranks compute on the same device: every rank's
 * device UUID gathered over the communicator (a collective every rank
 * makes), and the first pair of ranks that share one.  NCCL cannot put
 * two ranks on one device, so comm_device.c then sums gradients through
 * host memory instead. */
#ifndef KURC_DEVICE_SHARE_H
#define KURC_DEVICE_SHARE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"
#include "comm/comm.h"

#define KURC_UUID_BYTES 16

/* One rank's device: has is false for a rank on host memory. */
struct kurc_rank_device {
    bool has;
    unsigned char uuid[KURC_UUID_BYTES];
};

/* Collective: all[r] (c->size entries) becomes rank r's `mine`. */
enum kurc_status kurc_comm_gather_devices(struct kurc_comm *c, const struct kurc_rank_device *mine,
                                          struct kurc_rank_device *all, struct kurc_err *err);

/* The first pair of ranks *a < *b with the same device; false when every
 * rank with a device has its own. */
bool kurc_devices_shared(const struct kurc_rank_device *all, int size, int *a, int *b);

/* The UUID as nvidia-smi writes it: "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
 * (size >= 41). */
void kurc_uuid_format(const unsigned char uuid[KURC_UUID_BYTES], char *buf, size_t size);

#endif
