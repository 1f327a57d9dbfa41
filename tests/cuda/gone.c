/* gone.c - the library fake_module.c needs and the test hides. */
int kurc_gone(void);

int kurc_gone(void) {
    return 0;
}
