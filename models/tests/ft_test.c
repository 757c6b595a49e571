#include "models/tests/ft_test.h"

#include <CUnit/Basic.h>
#include <string.h>

void ft_assert_bytes(const void *actual, const void *expected, size_t len, const char *what,
                     const char *file, unsigned line)
{
	const unsigned char *a = actual, *e = expected;
	char msg[256];
	for (size_t i = 0; i < len; i++) {
		if (a[i] != e[i]) {
			snprintf(msg, sizeof(msg), "%s[%zu] = 0x%02x, expected 0x%02x", what, i,
			         a[i], e[i]);
			CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
			return;
		}
	}
	snprintf(msg, sizeof(msg), "%s matches %zu bytes", what, len);
	CU_assertImplementation(CU_TRUE, line, msg, file, "", CU_FALSE);
}

int ft_test_main(const CU_SuiteInfo *suite, int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_SuiteInfo suites[2] = {*suite, CU_SUITE_INFO_NULL};
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "cannot register suite %s: %s\n", suite->pName, CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (argc > 1) {
		CU_pSuite s = CU_get_suite(suite->pName);
		CU_pTest t = s ? CU_get_test(s, argv[1]) : NULL;
		if (!t) {
			fprintf(stderr, "no test named %s in suite %s\n", argv[1], suite->pName);
			CU_cleanup_registry();
			return 2;
		}
		CU_basic_run_test(s, t);
	} else {
		CU_basic_run_tests();
	}
	unsigned failed = CU_get_number_of_tests_failed();
	unsigned ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (ran == 0) {
		fprintf(stderr, "suite %s ran no test\n", suite->pName);
		return 2;
	}
	return failed ? 1 : 0;
}
