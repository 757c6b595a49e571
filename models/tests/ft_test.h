/* The CUnit harness every test program uses: one suite per program, a fresh fixture per test
 * (pSetUpFunc/pTearDownFunc), assertions that print values in hex with their expression. */
#ifndef FT_TEST_H
#define FT_TEST_H

#include <CUnit/CUnit.h>
#include <stdio.h>

/* Runs one suite in CUnit's basic mode and returns the process exit status (0 when every test
 * passed). argv[1], if given, runs only the test of that name. */
int ft_test_main(const CU_SuiteInfo *suite, int argc, char **argv);

/* Fails the test with "expr = 0x..., expected 0x..." when the two differ. */
#define FT_ASSERT_HEX(actual, expected)                                                         \
	do {                                                                                    \
		unsigned long long ft_a_ = (unsigned long long)(actual);                        \
		unsigned long long ft_e_ = (unsigned long long)(expected);                      \
		char ft_m_[256];                                                                \
		snprintf(ft_m_, sizeof(ft_m_), "%s = 0x%llx, expected 0x%llx", #actual, ft_a_,  \
			 ft_e_);                                                                \
		CU_assertImplementation(ft_a_ == ft_e_, __LINE__, ft_m_, __FILE__, "", CU_FALSE); \
	} while (0)

/* The same, for a memory range compared with expected bytes; names the first difference. */
#define FT_ASSERT_BYTES(actual, expected, len)                                                  \
	ft_assert_bytes((const void *)(actual), (const void *)(expected), (len), #actual, __FILE__, \
			__LINE__)

void ft_assert_bytes(const void *actual, const void *expected, size_t len, const char *what,
		     const char *file, unsigned line);

#endif
