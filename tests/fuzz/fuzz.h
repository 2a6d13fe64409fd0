/*
 * fuzz.h - what every fuzz target under tests/fuzz/ shares (docs/SECURITY.md "Fuzzing").
 *
 * A target defines LLVMFuzzerTestOneInput(). It is linked either with libFuzzer (clang
 * -fsanitize=fuzzer,address,undefined: `make fuzz`, CI) or with driver.c (any compiler: it
 * replays files given on the command line once each; `make check-fuzz` falls back to it when
 * clang's fuzzer runtime is missing). FUZZ_CHECK aborts on a broken property, which both
 * report as a crash with the input that caused it.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A new NUL-terminated copy of data[0..size) (caller frees); aborts when out of memory. */
char *fuzz_cstr(const uint8_t *data, size_t size);

/*
 * Splits the input at its first n-1 bytes equal to sep: parts[i] point into a NUL-terminated
 * copy (*owned, caller frees), lens[i] their lengths; missing parts are "". Returns *owned.
 */
char *fuzz_split(const uint8_t *data, size_t size, char sep, size_t n, char **parts, size_t *lens);

#endif
