/*
 * driver.c - replays inputs through a fuzz target without libFuzzer (fuzz.h): every file named
 * on the command line, and every file of every directory named, once each. Exit status 0 when
 * all ran (a broken property aborts the process, as under libFuzzer).
 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#include "banned.h"

static int driver_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf)
        return 1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int driver_dir(const char *dir, long *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0;
    char path[4096];
    if (!d)
        return driver_file(dir) == 0 ? (++*count, 0) : 1;
    while ((e = readdir(d))) {
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            rc |= driver_file(path);
            ++*count;
        }
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    long count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-') /* libFuzzer flags given to the driver are ignored */
            rc |= driver_dir(argv[i], &count);
    printf("%s: %ld inputs replayed\n", argv[0], count);
    return rc;
}
