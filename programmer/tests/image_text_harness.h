/* A fresh image per test and a text file added to it from a string, for the programs that test
 * the line-record readers (test_image_ihex.c, test_image_srec.c). Included by those only: its
 * setup and teardown go into their CU_SuiteInfo.
 */
#ifndef FT_IMAGE_TEXT_HARNESS_H
#define FT_IMAGE_TEXT_HARNESS_H

#include "models/tests/ft_test.h"
#include "programmer/image/image.h"

#include <string.h>

static ft_image *image;
static ft_diag diag;

static inline void setup(void)
{
	image = ft_image_new();
	ft_diag_clear(&diag);
}

static inline void teardown(void)
{
	ft_image_free(image);
}

/* Adds text to the image as a file called name in format; diag gets any error. */
static inline ft_error add_text(const char *name, ft_image_format format, const char *text)
{
	return ft_image_add_buffer(image, name, format, (const uint8_t *)text, strlen(text), false,
	                           0, &diag);
}

/* Checks a refusal: got is code, diag names origin and says what, and no segment was kept. */
static inline void expect_refused(ft_error got, ft_error code, const char *origin, const char *what)
{
	FT_ASSERT_HEX(got, code);
	CU_ASSERT_STRING_EQUAL(diag.origin, origin);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, what));
	FT_ASSERT_HEX(ft_image_segment_count(image), 0);
}

/* Adds every prefix of text to a fresh image as a file called name in format: only the whole
 * text, or the whole text less its final newline, is complete and reads; every shorter prefix is
 * refused with FT_ERR_FORMAT and leaves no segment. */
static inline void expect_every_truncation_refused_or_read(const char *name, ft_image_format format,
                                                           const char *text)
{
	size_t len = strlen(text);
	for (size_t cut = 0; cut <= len; cut++) {
		ft_image *img = ft_image_new();
		CU_ASSERT_PTR_NOT_NULL_FATAL(img);
		ft_diag d;
		ft_error err = ft_image_add_buffer(img, name, format, (const uint8_t *)text, cut,
		                                   false, 0, &d);
		CU_ASSERT(err == (cut >= len - 1 ? FT_OK : FT_ERR_FORMAT));
		if (err != FT_OK)
			CU_ASSERT(ft_image_segment_count(img) == 0);
		ft_image_free(img);
	}
}

#endif
