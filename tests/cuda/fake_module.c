/* fake_module.c - a stand-in for the CUDA module that needs a library no
 * loader finds (libkurc_gone.so, gone.c, left out of its RUNPATH), as the
 * real one does on a machine without the CUDA libraries
 * (test_cuda_module.sh). */
int kurc_gone(void);
int kurc_fake_module(void);

int kurc_fake_module(void) {
    return kurc_gone();
}
