/*
 * test_db.c - unit tests for the pure part of shared/db.c: the pooler mode names (PG_POOLER).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "db.h"

#include "banned.h"

static void test_db_pooler_parse_names(void **state)
{
    assert_int_equal(db_pooler_parse("none"), DB_POOLER_NONE);
    assert_int_equal(db_pooler_parse("session"), DB_POOLER_SESSION);
    assert_int_equal(db_pooler_parse("transaction"), DB_POOLER_TRANSACTION);
}

static void test_db_pooler_parse_unset_is_none(void **state)
{
    assert_int_equal(db_pooler_parse(NULL), DB_POOLER_NONE);
    assert_int_equal(db_pooler_parse(""), DB_POOLER_NONE);
}

static void test_db_pooler_parse_refuses_others(void **state)
{
    static const char *const bad[] = {"Transaction", "transaction ", "tx",   "statement",
                                      "nonesuch",    "sessio",       " none"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(db_pooler_parse(bad[i]), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_pooler_parse_names),
        cmocka_unit_test(test_db_pooler_parse_unset_is_none),
        cmocka_unit_test(test_db_pooler_parse_refuses_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
