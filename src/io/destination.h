/* destination.h - evaluation results written to a file (Kur's
 * `evaluate.destination` and `output` hook), by extension or format:
 *  - .pkl / .pickle (format pkl, pickle): a Python 3 pickle (protocol 4,
 *    Kur's default on Python 3.8+) of {'result': {NAME: ndarray}, 'truth':
 *    {NAME: ndarray}} that python3's pickle.load with numpy installed reads,
 *    as Kur wrote it;
 *  - .h5 / .hdf5 (h5, hdf5): groups /result and /truth, one dataset each;
 *  - .npz (npz): numpy.savez arrays named result/NAME and truth/NAME.
 * `truth` is left out when there is none.  Arrays are float32 of shape
 * (samples, per-sample shape...).  Written to PATH.tmp and renamed.
 * Errors: KURC_E_CONFIG for an unknown format, KURC_E_IO for a file that
 * cannot be written (or an output name HDF5 cannot hold: '/', ".").
 */
#ifndef KURC_DESTINATION_H
#define KURC_DESTINATION_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "core/tensor.h"

struct kurc_named_array {
    const char *name;
    struct kurc_shape shape; /* per sample */
    int64_t count;           /* samples */
    const float *data;       /* count x numel(shape) */
};

/* format: "pkl", "pickle", "h5", "hdf5", "npz", or NULL to go by the
 * extension in any case (an unknown one is an error naming the formats). */
enum kurc_status kurc_destination_write(const char *path, const char *format,
                                        const struct kurc_named_array *results, size_t n_results,
                                        const struct kurc_named_array *truths, size_t n_truths,
                                        struct kurc_err *err);

#endif
