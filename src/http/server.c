/*
 * server.c - Veil's HTTP/1.1 server on libevent's evhttp (see http.h and
 * docs/http.md): sockets, TLS, event loops and routing. request.c holds the
 * handler's side (request accessors and replies).
 *
 * Each thread owns an event base, an evhttp and its own listening socket
 * bound to the same address and port with SO_REUSEPORT, so connections are
 * spread by the kernel and a request is handled start to finish on one
 * thread with no locks in the HTTP layer; a reply that another thread
 * finishes reaches the loop through its deferred handle (deferred.c), the
 * one place with a lock. Routes are a fixed table set up before the
 * threads start and only read afterwards.
 *
 * TLS: when a certificate is configured, every accepted connection is
 * wrapped in an OpenSSL bufferevent (one crypto library for the whole
 * program), TLS 1.2 or later.
 *
 * What evhttp does not do for us and this file adds: a stop that cannot be
 * lost when it races with the start of the loops, a pause in accepting when
 * the process runs out of descriptors (libevent would otherwise retry
 * accept(2) in a tight loop), SIGPIPE kept away from the loop threads, a
 * check that the request's framing is unambiguous before a handler runs,
 * and the Allow header on 405 answers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http_internal.h"

/* How long accepting pauses after accept(2) failed for want of descriptors
 * or kernel memory. */
#define ACCEPT_BACKOFF_US (100 * 1000)

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int threads_ok;

static void threads_init(void)
{
	/* Needed for event_active and event_base_loopbreak from another
	 * thread (veil_http_server_stop); must precede every event base. */
	threads_ok = evthread_use_pthreads() == 0;
}

static veil_err bind_socket(const char *address, uint16_t port, int *fd_out, uint16_t *bound)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, address, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof *sin;
	} else if (inet_pton(AF_INET6, address, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof *sin6;
	} else {
		return veil_fail(VEIL_E_USAGE, "listen address \"%s\" is not a numeric IP address",
				 address);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ENSURE(fd >= 0, VEIL_E_IO, "socket: %s", strerror(errno));
	/* SO_REUSEPORT lets every loop have its own socket on the port; it
	 * also lets another process of the same user join the port (see
	 * http.h). Binding port 0 still picks a port nobody holds.
	 * TCP_NODELAY, which accepted sockets inherit on Linux: a streamed
	 * reply sends many small pieces, and Nagle's algorithm would hold
	 * each one back until the previous was acknowledged, up to the
	 * peer's delayed-ACK timeout (40 ms on Linux). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
		int e = errno;
		close(fd);
		return veil_fail(VEIL_E_IO, "cannot listen on %s port %u: %s", address, port,
				 strerror(e));
	}
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		int e = errno;
		close(fd);
		return veil_fail(VEIL_E_IO, "getsockname: %s", strerror(e));
	}
	*bound = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					       : ((struct sockaddr_in6 *)&ss)->sin6_port);
	*fd_out = fd;
	return VEIL_OK;
}

static veil_err tls_setup(veil_http_server *s)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	ENSURE(ctx != NULL, VEIL_E_CRYPTO, "TLS: cannot create a context");
	/* Renegotiation (TLS 1.2) only lets a client make the server do
	 * handshakes on an open connection; nothing here needs it. Idle
	 * connections give their read and write buffers back. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, s->config.tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, s->config.tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		unsigned long e = ERR_get_error();
		char buf[160] = "no detail";
		if (e != 0)
			ERR_error_string_n(e, buf, sizeof buf);
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return veil_fail(VEIL_E_IO, "TLS: cannot use certificate %s and key %s: %s",
				 s->config.tls_cert, s->config.tls_key, buf);
	}
	s->tls = ctx;
	return VEIL_OK;
}

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
	veil_http_server *s = arg;
	SSL *ssl = SSL_new(s->tls);
	struct bufferevent *bev;

	if (ssl == NULL)
		return NULL;
	/* BEV_OPT_CLOSE_ON_FREE: freeing the bufferevent (evhttp does when the
	 * connection ends) also frees the SSL object and closes the socket. */
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	return bev;
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}

/* accept(2) failed with something other than "try again": EMFILE or ENFILE
 * (out of descriptors), ENOBUFS or ENOMEM. The connection stays queued and
 * the socket stays readable, so without this libevent would call accept
 * again at once, spinning a core and logging each failure. Pause accepting
 * briefly; open connections carry on and free descriptors as they end.
 * The timer is a one-shot event of the loop, which is freed with the base
 * after the evhttp (and this listener), so it can never outlive either
 * while the loop runs. */
static void accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval backoff = {0, ACCEPT_BACKOFF_US};

	(void)arg;
	evconnlistener_disable(lev);
	if (event_base_once(evconnlistener_get_base(lev), -1, EV_TIMEOUT, accept_resume, lev,
			    &backoff) != 0)
		evconnlistener_enable(lev);
}

static const http_route *route_find(const veil_http_server *s, const char *method, const char *path,
				    bool *path_known)
{
	const http_route *best = NULL;
	size_t best_len = 0;

	*path_known = false;
	for (size_t i = 0; i < s->route_count; i++) {
		const http_route *rt = &s->routes[i];
		size_t n = strlen(rt->path);
		bool match =
		    rt->prefix ? strncmp(path, rt->path, n) == 0 : strcmp(path, rt->path) == 0;
		if (!match)
			continue;
		*path_known = true;
		if (strcmp(method, rt->method) == 0 && (best == NULL || n > best_len)) {
			best = rt;
			best_len = n;
		}
	}
	return best;
}

/* RFC 9110 section 15.5.6: a 405 response MUST carry an Allow header
 * listing the methods the target resource supports. */
static void allow_methods(const veil_http_server *s, const char *path, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->route_count; i++) {
		const http_route *rt = &s->routes[i];
		size_t n = strlen(rt->path);
		bool match =
		    rt->prefix ? strncmp(path, rt->path, n) == 0 : strcmp(path, rt->path) == 0;
		bool seen = false;
		if (!match)
			continue;
		for (size_t j = 0; j < i && !seen; j++) {
			const http_route *o = &s->routes[j];
			size_t on = strlen(o->path);
			seen = strcmp(o->method, rt->method) == 0 &&
			       (o->prefix ? strncmp(path, o->path, on) == 0
					  : strcmp(path, o->path) == 0);
		}
		if (seen)
			continue;
		int w = snprintf(buf + used, len - used, "%s%s", used > 0 ? ", " : "", rt->method);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

static const char *method_name(enum evhttp_cmd_type c)
{
	switch (c) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	default:
		return "OTHER";
	}
}

const char *veil_http_method(const veil_http_request *r)
{
	return method_name(evhttp_request_get_command(r->req));
}

/*
 * Whether the message framing evhttp used is the only reading of the
 * request. evhttp takes Transfer-Encoding only when it is exactly
 * "chunked", else the first Content-Length, and reads no body at all for
 * GET, HEAD and DELETE; a proxy in front may read the same bytes another
 * way, and the difference is request smuggling. So, as RFC 9112 section
 * 6.3 asks (items 3 to 5): a request with both headers, with a transfer
 * coding other than chunked, with more than one Content-Length, or with a
 * body where evhttp read none is answered 400 and the connection closed,
 * so no leftover byte is ever parsed as a next request.
 */
static bool framing_ok(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	bool reads_body = m == EVHTTP_REQ_POST || m == EVHTTP_REQ_PUT;
	const char *te = NULL, *cl = NULL;
	unsigned te_count = 0, cl_count = 0;
	struct evkeyval *kv;

	for (kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
		if (strcasecmp(kv->key, "Transfer-Encoding") == 0) {
			te = kv->value;
			te_count++;
		} else if (strcasecmp(kv->key, "Content-Length") == 0) {
			cl = kv->value;
			cl_count++;
		}
	}
	if (te_count > 1 || cl_count > 1 || (te != NULL && cl != NULL))
		return false;
	if (te != NULL && strcasecmp(te, "chunked") != 0)
		return false;
	if (!reads_body && (te != NULL || (cl != NULL && strcmp(cl, "0") != 0)))
		return false;
	return true;
}

static void dispatch(struct evhttp_request *req, void *arg)
{
	http_loop *loop = arg;
	veil_http_server *s = loop->server;
	/* On the stack: valid for this handler call only (see http.h). */
	veil_http_request r = {.req = req, .server = s, .loop = loop, .state = HTTP_REPLY_NONE};
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	const char *method = method_name(evhttp_request_get_command(req));
	const http_route *rt;
	bool known;

	if (conn != NULL) {
		char *host = NULL;
		ev_uint16_t port = 0;
		evhttp_connection_get_peer(conn, &host, &port);
		snprintf(r.peer, sizeof r.peer, "%s", host != NULL ? host : "?");
	}
	r.path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (r.path == NULL || r.path[0] != '/') {
		veil_http_reply(&r, 400, "text/plain", "bad request target\n", 19);
		goto done;
	}
	if (!framing_ok(req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		veil_http_reply(&r, 400, "text/plain", "ambiguous message framing\n", 26);
		goto done;
	}
	rt = route_find(s, method, r.path, &known);
	if (rt == NULL && known) {
		char allow[128];
		allow_methods(s, r.path, allow, sizeof allow);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
		veil_http_reply(&r, 405, "text/plain", "method not allowed\n", 19);
	} else if (rt == NULL) {
		veil_http_reply(&r, 404, "text/plain", "not found\n", 10);
	} else {
		veil_err_clear();
		rt->handler(&r, rt->user);
	}
done:
	http_request_finish(&r);
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
	http_loop *loop = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(loop->base);
}

static veil_err loop_init(http_loop *loop, veil_http_server *s, int fd)
{
	const veil_http_config *c = &s->config;
	struct evhttp_bound_socket *bound;

	loop->server = s;
	loop->fd = fd;
	loop->base = event_base_new();
	ENSURE(loop->base != NULL, VEIL_E_NOMEM, "HTTP: cannot create an event base");
	/* Stopping activates this event rather than breaking the loop
	 * directly: event_base_loop clears a pending break when it starts,
	 * so a stop that came before the thread reached the loop would be
	 * lost, while an active event is run by the loop whenever it starts. */
	loop->stop_event = event_new(loop->base, -1, 0, stop_loop, loop);
	ENSURE(loop->stop_event != NULL, VEIL_E_NOMEM, "HTTP: cannot create an event");
	loop->http = evhttp_new(loop->base);
	ENSURE(loop->http != NULL, VEIL_E_NOMEM, "HTTP: cannot create the server");
	evhttp_set_max_headers_size(loop->http, (ev_ssize_t)c->max_header_bytes);
	evhttp_set_max_body_size(loop->http, (ev_ssize_t)c->max_body_bytes);
	/* Read and write timeouts of every connection: idle timeouts, reset
	 * by every byte that moves (docs/http.md, limitations). */
	evhttp_set_timeout(loop->http, c->timeout_seconds);
	/* A body over the limit is read and dropped before the 413 goes out:
	 * closing with the body unread would reset the connection, and the
	 * client would see the reset instead of the 413. */
	evhttp_set_flags(loop->http, EVHTTP_SERVER_LINGERING_CLOSE);
	/* evhttp's own default is text/html; its error pages are fixed text. */
	evhttp_set_default_content_type(loop->http, "text/plain; charset=utf-8");
	evhttp_set_allowed_methods(loop->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
						   EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(loop->http, dispatch, loop);
	if (s->tls != NULL)
		evhttp_set_bevcb(loop->http, tls_bev, s);
	bound = evhttp_accept_socket_with_handle(loop->http, fd);
	ENSURE(bound != NULL, VEIL_E_IO, "HTTP: cannot accept on the listening socket");
	loop->fd = -1; /* the evhttp owns it now */
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bound), accept_error);
	return VEIL_OK;
}

veil_err veil_http_server_new(const veil_http_config *c, veil_http_server **out)
{
	veil_http_server *s;
	veil_err err = VEIL_OK;
	long cpus;

	*out = NULL;
	pthread_once(&threads_once, threads_init);
	ENSURE(threads_ok, VEIL_E_IO, "HTTP: libevent thread support is unavailable");
	ENSURE((c->tls_cert == NULL) == (c->tls_key == NULL), VEIL_E_USAGE,
	       "TLS needs both a certificate and a key");
	s = calloc(1, sizeof *s);
	ENSURE(s != NULL, VEIL_E_NOMEM, "HTTP: out of memory");
	s->config = *c;
	if (s->config.address == NULL)
		s->config.address = "127.0.0.1";
	if (s->config.max_header_bytes == 0)
		s->config.max_header_bytes = VEIL_HTTP_HEADER_MAX;
	if (s->config.max_body_bytes == 0)
		s->config.max_body_bytes = VEIL_HTTP_BODY_MAX;
	if (s->config.timeout_seconds <= 0)
		s->config.timeout_seconds = VEIL_HTTP_TIMEOUT_S;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	s->loop_count = c->threads != 0 ? c->threads : cpus > 0 ? (unsigned)cpus : 1;
	if (s->loop_count > VEIL_HTTP_THREADS_MAX)
		s->loop_count = VEIL_HTTP_THREADS_MAX;
	s->loops = calloc(s->loop_count, sizeof *s->loops);
	CHECK_THAT(s->loops != NULL, VEIL_E_NOMEM, "HTTP: out of memory");
	if (c->tls_cert != NULL)
		CHECK(tls_setup(s));
	/* The first socket picks the port (0 means any); the others join it. */
	s->port = c->port;
	for (unsigned i = 0; i < s->loop_count; i++) {
		int fd = -1;
		CHECK(bind_socket(s->config.address, s->port, &fd, &s->port));
		err = loop_init(&s->loops[i], s, fd);
		if (s->loops[i].fd == fd)
			close(fd);
		CHECK(err);
	}
out:
	if (err != VEIL_OK) {
		veil_http_server_free(s);
		return err;
	}
	*out = s;
	return VEIL_OK;
}

veil_err veil_http_route(veil_http_server *s, const char *method, const char *path,
			 veil_http_handler h, void *user)
{
	http_route *rt;
	size_t n = strlen(path);

	ENSURE(s->route_count < VEIL_HTTP_ROUTES_MAX, VEIL_E_LIMIT, "HTTP: too many routes");
	ENSURE(n > 0 && path[0] == '/' && n < sizeof rt->path && strlen(method) > 0 &&
		   strlen(method) < sizeof rt->method,
	       VEIL_E_USAGE, "HTTP: route %s %s is empty, too long or not an absolute path", method,
	       path);
	rt = &s->routes[s->route_count++];
	snprintf(rt->method, sizeof rt->method, "%s", method);
	rt->prefix = path[n - 1] == '*';
	snprintf(rt->path, sizeof rt->path, "%.*s", (int)(rt->prefix ? n - 1 : n), path);
	rt->handler = h;
	rt->user = user;
	return VEIL_OK;
}

uint16_t veil_http_server_port(const veil_http_server *s)
{
	return s->port;
}

bool veil_http_server_tls(const veil_http_server *s)
{
	return s->tls != NULL;
}

static void *loop_main(void *arg)
{
	http_loop *loop = arg;
	event_base_dispatch(loop->base);
	return NULL;
}

veil_err veil_http_server_run(veil_http_server *s)
{
	sigset_t pipe_only, saved;
	veil_err err = VEIL_OK;
	unsigned started = 0;

	/* A peer that closes early makes write(2) raise SIGPIPE, whose
	 * default action ends the process. The loop threads inherit this
	 * mask: blocked there, the signal stays pending on that thread and
	 * the write just fails with EPIPE, without touching the signal
	 * disposition of the rest of the program. */
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &saved);
	for (; started < s->loop_count; started++) {
		if (pthread_create(&s->loops[started].thread, NULL, loop_main,
				   &s->loops[started]) != 0) {
			err = veil_fail(VEIL_E_IO, "HTTP: cannot start thread %u", started);
			veil_http_server_stop(s);
			break;
		}
		s->loops[started].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	for (unsigned i = 0; i < started; i++) {
		pthread_join(s->loops[i].thread, NULL);
		s->loops[i].started = false;
	}
	return err;
}

void veil_http_server_stop(veil_http_server *s)
{
	for (unsigned i = 0; s->loops != NULL && i < s->loop_count; i++)
		if (s->loops[i].stop_event != NULL)
			event_active(s->loops[i].stop_event, EV_TIMEOUT, 0);
}

void veil_http_server_free(veil_http_server *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; s->loops != NULL && i < s->loop_count; i++) {
		http_loop *loop = &s->loops[i];
		/* Deferred requests first, while their connections still
		 * exist: evhttp_free frees those requests with them, and the
		 * handles' events belong to the base. Then evhttp_free closes
		 * the listener and every open connection (TLS ones free their
		 * SSL with the bufferevent); the base goes last, running the
		 * finalizers those frees deferred. */
		http_deferred_release_all(loop);
		if (loop->http != NULL)
			evhttp_free(loop->http);
		if (loop->stop_event != NULL)
			event_free(loop->stop_event);
		if (loop->base != NULL)
			event_base_free(loop->base);
	}
	free(s->loops);
	SSL_CTX_free(s->tls);
	free(s);
}
