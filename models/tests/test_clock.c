/* The virtual clock: manual time stands still, instant time collapses durations, real time moves.
 */
#include "models/clock.h"
#include "models/error.h"
#include "models/tests/ft_test.h"

#include <string.h>
#include <time.h>

static void test_manual_clock_moves_only_when_advanced(void)
{
	ft_clock *clock = ft_clock_new(FT_CLOCK_MANUAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clock);
	FT_ASSERT_HEX(ft_clock_now_ns(clock), 0);
	FT_ASSERT_HEX(ft_clock_deadline_ns(clock, 1000), 1000);
	ft_clock_advance(clock, 250);
	FT_ASSERT_HEX(ft_clock_now_ns(clock), 250);
	FT_ASSERT_HEX(ft_clock_deadline_ns(clock, 1000), 1250);
	ft_clock_free(clock);
}

static void test_instant_clock_deadline_is_now(void)
{
	ft_clock *clock = ft_clock_new(FT_CLOCK_INSTANT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clock);
	FT_ASSERT_HEX(ft_clock_deadline_ns(clock, 2000000000u), ft_clock_now_ns(clock));
	ft_clock_advance(clock, 5);
	FT_ASSERT_HEX(ft_clock_now_ns(clock), 0);
	ft_clock_free(clock);
}

static void test_real_clock_follows_host_time(void)
{
	ft_clock *clock = ft_clock_new(FT_CLOCK_REAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clock);
	uint64_t before = ft_clock_now_ns(clock);
	struct timespec pause = {0, 2000000};
	nanosleep(&pause, NULL);
	CU_ASSERT(ft_clock_now_ns(clock) >= before + 2000000);
	ft_clock_free(clock);
}

static void test_held_clock_answers_the_held_time_until_released(void)
{
	ft_clock *clock = ft_clock_new(FT_CLOCK_REAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clock);
	struct timespec pause = {0, 2000000};
	nanosleep(&pause, NULL);
	ft_clock_hold(clock, 1000);
	FT_ASSERT_HEX(ft_clock_now_ns(clock), 1000);
	nanosleep(&pause, NULL);
	FT_ASSERT_HEX(ft_clock_now_ns(clock), 1000);
	FT_ASSERT_HEX(ft_clock_deadline_ns(clock, 500), 1500);
	ft_clock_release(clock);
	CU_ASSERT(ft_clock_now_ns(clock) >= 4000000);
	/* never ahead of the host */
	ft_clock_hold(clock, UINT64_MAX);
	uint64_t held = ft_clock_now_ns(clock);
	ft_clock_release(clock);
	CU_ASSERT(held < UINT64_MAX && held <= ft_clock_now_ns(clock));
	ft_clock_free(clock);

	ft_clock *manual = ft_clock_new(FT_CLOCK_MANUAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(manual);
	ft_clock_advance(manual, 300);
	ft_clock_hold(manual, 100);
	FT_ASSERT_HEX(ft_clock_now_ns(manual), 100);
	ft_clock_release(manual);
	FT_ASSERT_HEX(ft_clock_now_ns(manual), 300);
	ft_clock_hold(manual, 400); /* never ahead */
	FT_ASSERT_HEX(ft_clock_now_ns(manual), 300);
	ft_clock_release(manual);
	ft_clock_free(manual);
}

static void test_diag_set_fills_fields_and_truncates(void)
{
	ft_diag diag;
	ft_diag_clear(&diag);
	char longtext[1000];
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	ft_error err = ft_diag_set(&diag, FT_ERR_FORMAT, "app.hex line 3", "%s", longtext);
	FT_ASSERT_HEX(err, FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "app.hex line 3");
	FT_ASSERT_HEX(strlen(diag.message), sizeof(diag.message) - 1);
	CU_ASSERT_STRING_EQUAL(ft_error_name(FT_ERR_FORMAT), "format");
	CU_ASSERT_EQUAL(ft_diag_set(NULL, FT_ERR_IO, NULL, "ignored"), FT_ERR_IO);
}

static CU_TestInfo tests[] = {
    {"manual_clock_moves_only_when_advanced", test_manual_clock_moves_only_when_advanced},
    {"instant_clock_deadline_is_now", test_instant_clock_deadline_is_now},
    {"real_clock_follows_host_time", test_real_clock_follows_host_time},
    {"held_clock_answers_the_held_time_until_released",
     test_held_clock_answers_the_held_time_until_released},
    {"diag_set_fills_fields_and_truncates", test_diag_set_fills_fields_and_truncates},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"clock", NULL, NULL, NULL, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
