/*
 * replay_main.c - a main() for the fuzz targets where libFuzzer is not
 * available (any compiler): runs LLVMFuzzerTestOneInput once over every
 * file of the folders (or files) given, in name order, and prints one TAP
 * line per file.  A target that finds a property broken aborts, which
 * fails the meson test; the committed corpus thus guards every fix.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0 || !(buf = malloc((size_t)len + 1))
        || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        printf("not ok %d - %s (cannot read)\n", ++n, path);
        if (f) fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    fflush(stdout);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    printf("ok %d - %s\n", ++n, path);
    return 0;
}

static int run_path(const char *path)
{
    struct dirent **names = NULL;
    struct stat sb;
    int k, fail = 0;

    if (stat(path, &sb) != 0) {
        printf("not ok %d - %s (missing)\n", ++n, path);
        return 1;
    }
    if (!S_ISDIR(sb.st_mode))
        return run_file(path);
    k = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < k; i++) {
        char full[4096];
        if (names[i]->d_name[0] != '.') {
            snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
            fail |= run_file(full);
        }
        free(names[i]);
    }
    free(names);
    if (k < 0) {
        printf("not ok %d - %s (cannot list)\n", ++n, path);
        fail = 1;
    }
    return fail;
}

int main(int argc, char **argv)
{
    int fail = 0;

    for (int i = 1; i < argc; i++)
        fail |= run_path(argv[i]);
    if (n == 0)
        printf("not ok %d - no input\n", ++n), fail = 1;
    printf("1..%d\n", n);
    return fail;
}
