/* download_tmp.h - the temporary files downloads are written to.
 *
 * A download of DIR/NAME goes to DIR/.NAME.kurc-HOST-PID.part and is renamed
 * over DIR/NAME once complete and checked.  A run killed while downloading
 * (SIGKILL included) leaves that file behind; the next download of the same
 * target on the same host removes every such file whose process is gone. */
#ifndef KURC_DOWNLOAD_TMP_H
#define KURC_DOWNLOAD_TMP_H

/* The temporary name of this process's download of target (new). */
char *kurc_download_tmp_name(const char *target);

/* Removes the temporary files of target's downloads that processes of
 * this host that no longer run left behind, each with a warning. */
void kurc_download_tmp_clean(const char *target);

#endif
