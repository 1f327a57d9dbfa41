/* unavailable.c - Kur's suppliers that kurc does not implement: known to
 * the Kurfile's schema, which checks their parameters, and refused when a
 * data list is loaded ("the 'numpy_dict' supplier is not available in
 * kurc"). */
#include "data/supplier.h"

/* numpy_dict: a pickled dictionary of numpy arrays. */
const struct kurc_supplier_type kurc_supplier_numpy_dict = {
    .component = KURC_SUPPLIER_SOURCE("numpy_dict"),
};
