/*
 * test_time.c - RFC 3339 parsing and formatting.
 */
#include <string.h>

#include "harness.h"
#include "veil/timeutil.h"

TEST(parses_and_formats_utc)
{
	int64_t t;
	char buf[21];
	EXPECT_OK(veil_time_parse("2023-07-01T01:00:00Z", &t));
	EXPECT(t == 1688173200);
	veil_time_format(t, buf);
	EXPECT(strcmp(buf, "2023-07-01T01:00:00Z") == 0);
	EXPECT_OK(veil_time_parse("1970-01-01", &t));
	EXPECT(t == 0);
	EXPECT_OK(veil_time_parse("2024-02-29T23:59:59.999Z", &t));
	veil_time_format(t, buf);
	EXPECT(strcmp(buf, "2024-02-29T23:59:59Z") == 0);
	EXPECT_OK(veil_time_parse("2023-07-01T03:00:00+02:00", &t));
	EXPECT(t == 1688173200);
	EXPECT_OK(veil_time_parse("2049-12-31T23:59:59Z", &t));
	EXPECT(t == 2524607999);
}

TEST(rejects_malformed_times)
{
	int64_t t;
	const char *bad[] = {"",
			     "2023",
			     "2023-13-01",
			     "2023-02-29",
			     "2023-07-01T25:00:00Z",
			     "2023-07-01T01:00:00",
			     "2023-07-01T01:00:00Zjunk",
			     "2023-07-01T01:00Z",
			     "20230701T010000Z",
			     "2023-07-01T01:00:00.Z"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		EXPECT_ERR(veil_time_parse(bad[i], &t), VEIL_E_MALFORMED);
}

int main(void)
{
	RUN(parses_and_formats_utc);
	RUN(rejects_malformed_times);
	return harness_finish("test_time");
}
