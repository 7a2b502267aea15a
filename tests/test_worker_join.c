/*
 * test_worker_join.c - the gateway options of veil-worker
 * (src/worker/join.c, docs/worker.md "Joining a gateway"), checked at
 * start so that a typo fails before the broker releases a key. The
 * advertised URL is what the gateway will call this worker at, so it must
 * be exactly a scheme, a host and an optional port: no user information
 * (which would name another host to some parsers), no path, no query, no
 * control characters. The protocol itself runs against a fake gateway in
 * tests/cli/worker_join.sh.
 */
#include <string.h>

#include "harness.h"
#include "veil/limits.h"
#include "worker/worker_internal.h"

static veil_err check(const char *gateway, const char *advertise, const char *ca)
{
	veil_worker_config c;

	memset(&c, 0, sizeof c);
	c.gateway_url = gateway;
	c.advertise_url = advertise;
	c.gateway_ca = ca;
	return wk_join_check(&c);
}

TEST(no_gateway_is_fine_and_its_options_need_one)
{
	EXPECT_OK(check(NULL, NULL, NULL));
	EXPECT_ERR(check(NULL, "http://10.0.0.5:8090", NULL), VEIL_E_USAGE);
	EXPECT_ERR(check(NULL, NULL, "ca.pem"), VEIL_E_USAGE);
}

TEST(good_urls)
{
	static const char *const adv[] = {
	    "http://10.0.0.5:8090", "https://worker-1.example.com",
	    "http://127.0.0.1:1",   "https://[::1]:8443",
	    "http://[fd00::5]",     "http://h:65535",
	};
	for (size_t i = 0; i < sizeof adv / sizeof adv[0]; i++)
		EXPECT_OK(check("https://gw.example:8443", adv[i], NULL));
	EXPECT_OK(check("http://127.0.0.1:8080/", "http://h:1", NULL));
	EXPECT_OK(check("https://gw.example/veil", "http://h:1", "ca.pem"));
}

TEST(advertise_is_required_with_a_gateway)
{
	EXPECT_ERR(check("http://gw:8080", NULL, NULL), VEIL_E_USAGE);
	EXPECT(strstr(veil_err_detail(), "--advertise") != NULL);
}

TEST(bad_advertised_urls)
{
	static const char *const adv[] = {
	    "",                      /* empty */
	    "http://",               /* truncated: no host */
	    "http://:8090",          /* no host */
	    "10.0.0.5:8090",         /* no scheme */
	    "ftp://10.0.0.5:8090",   /* another scheme */
	    "HTTP://10.0.0.5:8090",  /* schemes are written lower-case here */
	    "http://10.0.0.5:8090/", /* a path, even "/" */
	    "http://10.0.0.5:8090/v1",
	    "http://10.0.0.5:8090?x=1", /* a query */
	    "http://10.0.0.5:8090#f",   /* a fragment */
	    "http://u@10.0.0.5:8090",   /* user information */
	    "http://u:p@10.0.0.5",
	    "http://10.0.0.5:",         /* empty port */
	    "http://10.0.0.5:0",        /* port 0 */
	    "http://10.0.0.5:65536",    /* over 65535 */
	    "http://10.0.0.5:123456",   /* too many digits */
	    "http://10.0.0.5:80a",      /* not a number */
	    "http://10.0.0.5:-1",       /* a sign */
	    "http://10.0.0.5: 80",      /* a space */
	    "http://10.0.0.5:8090 ",    /* trailing garbage */
	    "http://10.0.0.5\r\n:8090", /* control characters */
	    "http://[::1",              /* unclosed IPv6 literal */
	    "http://[]:80",             /* empty IPv6 literal */
	    "http://[::1]x",            /* garbage after the literal */
	    "http://[g::1]:80",         /* not an IPv6 address */
	    "http://host_name:80",      /* '_' is not in a host name */
	    "http://h\xc3\xa9:80",      /* not ASCII */
	};
	for (size_t i = 0; i < sizeof adv / sizeof adv[0]; i++) {
		veil_err err = check("https://gw.example", adv[i], NULL);
		if (err != VEIL_E_USAGE)
			fprintf(stderr, "    accepted --advertise \"%s\"\n", adv[i]);
		EXPECT_ERR(err, VEIL_E_USAGE);
	}
}

TEST(bad_gateway_urls)
{
	static const char *const gw[] = {
	    "",
	    "gw.example:8443",         /* no scheme */
	    "http://",                 /* no host */
	    "https:///v1",             /* no host */
	    "unix:/run/gw.sock",       /* another scheme */
	    "https://gw.example/?x=1", /* a query */
	    "https://gw.example/#f",   /* a fragment */
	    "https://gw.example/ a",   /* a space */
	    "https://gw.example\n/v1", /* a control character */
	};
	for (size_t i = 0; i < sizeof gw / sizeof gw[0]; i++)
		EXPECT_ERR(check(gw[i], "http://10.0.0.5:8090", NULL), VEIL_E_USAGE);
}

TEST(over_long_urls)
{
	char url[VEIL_WORKER_GATEWAY_URL_MAX + 2];

	/* http://aaa...: exactly the cap passes, one more does not. */
	memset(url, 'a', sizeof url);
	memcpy(url, "http://", 7);
	url[VEIL_WORKER_GATEWAY_URL_MAX] = '\0';
	EXPECT_OK(check(url, url, NULL));
	url[VEIL_WORKER_GATEWAY_URL_MAX] = 'a';
	url[VEIL_WORKER_GATEWAY_URL_MAX + 1] = '\0';
	EXPECT_ERR(check(url, "http://h:1", NULL), VEIL_E_USAGE);
	EXPECT_ERR(check("http://gw", url, NULL), VEIL_E_USAGE);
}

int main(void)
{
	RUN(no_gateway_is_fine_and_its_options_need_one);
	RUN(good_urls);
	RUN(advertise_is_required_with_a_gateway);
	RUN(bad_advertised_urls);
	RUN(bad_gateway_urls);
	RUN(over_long_urls);
	return harness_finish("test_worker_join");
}
