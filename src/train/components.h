/* components.h - the components kurc knows: every data supplier, training
 * and evaluation hook, optimizer and loss, gathered from the tables of
 * src/data, src/hooks, src/optim and src/loss for kurc_kurfile_parse,
 * which checks the entries naming them (config/component.h). */
#ifndef KURC_COMPONENTS_H
#define KURC_COMPONENTS_H

#include "config/component.h"

const struct kurc_components *kurc_all_components(void);

#endif
