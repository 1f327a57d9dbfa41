/* test_graph.c - the graph's tensor and op lists: growth keeps every
 * shape an emitter passes (found by fuzzing: a shape pointing into the
 * tensor list outlived the list's growth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/graph.h"
#include "ops/ops.h"

/* Each activation is emitted with its input's shape pointer, which points
 * into the tensor list that the same call grows. */
static void test_growth_keeps_shapes(void **state) {
    (void)state;
    struct kurc_graph *g = kurc_graph_create();
    struct kurc_shape s = {.ndim = 2, .dim = {3, 5}};
    int x = kurc_graph_add_tensor(g, KURC_TENSOR_INPUT, &s, -1, false, "x");
    for (int i = 0; i < 300; i++)
        x = kurc_emit_activation(g, x, KURC_ACT_RELU, 0, "a");
    assert_int_equal(g->n_tensors, 301);
    assert_int_equal(g->n_ops, 300);
    for (size_t t = 0; t < g->n_tensors; t++)
        assert_true(kurc_shape_equal(&g->tensors[t].shape, &s));
    kurc_graph_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_growth_keeps_shapes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
