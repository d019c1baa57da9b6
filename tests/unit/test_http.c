// SPDX-License-Identifier: GPL-2.0
/* The HTTP server inside the event loop. Each test runs a server in this process's loop and
 * its client in a forked child, so the server is single-threaded exactly as in heapscope. The
 * child uses blocking sockets with 5 s timeouts (or poll with a deadline), stores the raw
 * responses in shared memory and exits; the loop runs until the child has exited, under a
 * watchdog timer. The parent checks the responses afterwards. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <fcntl.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>
#include "harness.h"
#include "http.h"
#include "loop.h"
#include "prom.h"

#define REPLY_MAX (256 << 10)
#define NREPLIES 10
#define CLIENT_BOUND_S 30

struct reply {
	int err;	/* -errno of connect/send/recv; 0 when the server closed cleanly */
	size_t len;
	char buf[REPLY_MAX];
};

struct shared {
	int port, family;
	int answered, refused, unfinished;	/* concurrent connections */
	int slow_closed_early;			/* slow client closed before the other was served */
	long slow_ms;				/* partial request sent -> server closed it */
	struct reply r[NREPLIES];
};

struct fixture {
	struct loop loop;
	struct http_server *srv;
	struct shared *sh;
	struct prom_writer *prom;
};

typedef void (*client_fn)(struct shared *sh);

/* --- client side, in the child --- */

static long now_ms(void)
{
	return now_monotonic_ns() / 1000000;
}

static socklen_t server_addr(const struct shared *sh, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sh->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons(sh->port);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s4->sin_port = htons(sh->port);
	return sizeof(*s4);
}

static int client_connect(const struct shared *sh)
{
	struct timeval tv = { .tv_sec = 5 };
	struct sockaddr_storage ss;
	socklen_t len = server_addr(sh, &ss);
	int fd = socket(sh->family, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* Until the server closes (every request says Connection: close), an error, or 5 s of
 * silence (-EAGAIN). */
static void read_all(int fd, struct reply *r)
{
	for (;;) {
		ssize_t n = recv(fd, r->buf + r->len, REPLY_MAX - 1 - r->len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r->err = -errno;
		if (n <= 0 || (r->len += n) == REPLY_MAX - 1)
			break;
	}
	r->buf[r->len] = '\0';
}

static void exchange_n(struct shared *sh, struct reply *r, const char *req, size_t len)
{
	int fd = client_connect(sh);

	if (fd < 0) {
		r->err = fd;
		return;
	}
	r->err = send_all(fd, req, len);
	if (!r->err)
		read_all(fd, r);
	close(fd);
}

static void exchange(struct shared *sh, struct reply *r, const char *req)
{
	exchange_n(sh, r, req, strlen(req));
}

/* --- server side --- */

static int on_child_exit(void *ctx, int fd, uint32_t events)
{
	return LOOP_STOP;
}

static int on_watchdog(void *ctx, int fd, uint32_t events)
{
	*(bool *)ctx = true;
	return LOOP_STOP;
}

/* Serve until the client child exits. false (with a failure recorded) if it fails or takes
 * longer than CLIENT_BOUND_S. The child's exit shows as EOF on a pipe whose write end only it
 * holds (a pidfd would do, but valgrind does not know pidfd_open). */
static bool serve_client(struct test_ctx *t, struct fixture *f, client_fn client)
{
	int exit_pipe[2] = { -1, -1 }, wd = -1, status = 0, err;
	bool expired = false, ok = false;
	pid_t pid;

	if (pipe2(exit_pipe, O_CLOEXEC))
		return FAILF(t, "pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(exit_pipe[0]), close(exit_pipe[1]);
		return FAILF(t, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(exit_pipe[0]);
		client(f->sh);
		_exit(0);
	}
	close(exit_pipe[1]);
	wd = timerfd_after(CLIENT_BOUND_S * 1000000000ull, 0);
	if (!ASSERT_TRUE(t, wd >= 0, "watchdog timer") ||
	    !ASSERT_OK(t, loop__add(&f->loop, exit_pipe[0], on_child_exit, NULL), "watch child") ||
	    !ASSERT_OK(t, loop__add(&f->loop, wd, on_watchdog, &expired), "watchdog")) {
		kill(pid, SIGKILL);
		goto cleanup;
	}
	err = loop__run(&f->loop);
	if (!ASSERT_OK(t, err, "loop"))
		kill(pid, SIGKILL);
	else if (expired)
		FAILF(t, "client still running after %d s", CLIENT_BOUND_S), kill(pid, SIGKILL);
	else
		ok = true;
cleanup:
	waitpid(pid, &status, 0);
	loop__del(&f->loop, exit_pipe[0]);
	close(exit_pipe[0]);
	if (wd >= 0)
		loop__del(&f->loop, wd), close(wd);
	if (ok && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		ok = FAILF(t, "client exited with status %#x", status);
	return ok;
}

static int h_echo(void *ctx, const struct http_request *req, struct http_response *resp)
{
	const char *pid = http_request__query(req, "pid");
	const char *hdr = http_request__header(req, "x-test");

	strbuf_printf(&resp->body, "method=%s path=%s pid=%s x-test=%s\n",
		      http_request__method(req), http_request__path(req), pid ? pid : "(none)",
		      hdr ? hdr : "(none)");
	return 0;
}

static int h_fail(void *ctx, const struct http_request *req, struct http_response *resp)
{
	strbuf_printf(&resp->body, "half a body");
	return -EIO;
}

static int h_unavailable(void *ctx, const struct http_request *req, struct http_response *resp)
{
	strbuf_printf(&resp->body, "no targets yet\n");
	resp->status = 503;
	return 0;
}

static int h_empty(void *ctx, const struct http_request *req, struct http_response *resp)
{
	return 0;
}

static int h_big(void *ctx, const struct http_request *req, struct http_response *resp)
{
	for (int i = 0; i < 5000; i++)
		strbuf_printf(&resp->body, "line %d of a body that compresses well\n", i);
	return 0;
}

/* What heapscope serve will do: negotiate, then render one snapshot. */
static int h_metrics(void *ctx, const struct http_request *req, struct http_response *resp)
{
	const char *accept = http_request__header(req, "Accept");
	enum prom_format fmt = prom__negotiate(accept, &resp->content_type);

	return prom__render(ctx, fmt, &resp->body);
}

static bool fixture_start(struct test_ctx *t, struct fixture *f, const struct http_opts *opts,
			  int family)
{
	static const struct prom_desc d_up = { "heapscope_up", PROM_GAUGE, NULL, "Attached." };
	static const struct prom_desc d_cycles = {
		"heapscope_gc_cycles_total", PROM_COUNTER, NULL, "Completed GC cycles.",
	};
	static const struct {
		const char *path;
		http_handler_fn fn;
	} routes[] = {
		{ "/echo", h_echo }, { "/fail", h_fail }, { "/unavailable", h_unavailable },
		{ "/empty", h_empty }, { "/big", h_big }, { "/metrics", h_metrics },
	};
	int err;

	memset(f, 0, sizeof(*f));
	f->loop.epfd = -1;
	f->sh = mmap(NULL, sizeof(*f->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		     0);
	if (f->sh == MAP_FAILED) {
		f->sh = NULL;
		return FAILF(t, "mmap: %s", strerror(errno));
	}
	if (!ASSERT_OK(t, loop__init(&f->loop), "loop") ||
	    !ASSERT_OK(t, prom__new(&f->prom), "prom"))
		return false;
	prom__add_u64(f->prom, &d_up, PROM_LABELS({ "pid", "1001" }), 1);
	prom__add_u64(f->prom, &d_cycles, PROM_LABELS({ "pid", "1001" }), 42);
	err = http__start(&f->srv, &f->loop, opts);
	if (err)
		return FAILF(t, "http__start %s: %s", opts->listen, strerror(-err));
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!ASSERT_OK(t, http__route(f->srv, routes[i].path, routes[i].fn,
					      routes[i].fn == h_metrics ? f->prom : NULL),
			       routes[i].path))
			return false;
	f->sh->port = http__port(f->srv);
	f->sh->family = family;
	return ASSERT_TRUE(t, f->sh->port > 0, "bound port");
}

static void fixture_stop(struct fixture *f)
{
	http__stop(f->srv);
	loop__close(&f->loop);
	prom__free(f->prom);
	if (f->sh)
		munmap(f->sh, sizeof(*f->sh));
}

/* --- reading responses --- */

static int status_of(const struct reply *r)
{
	int code;

	return sscanf(r->buf, "HTTP/1.%*d %d", &code) == 1 ? code : -1;
}

static const char *header_of(const struct reply *r, const char *name, char *out, size_t n)
{
	const char *end = strstr(r->buf, "\r\n\r\n"), *p = strstr(r->buf, "\r\n");
	size_t nl = strlen(name);

	for (; p && end && p < end; p = strstr(p, "\r\n")) {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1 + strspn(p + nl + 1, " ");

			snprintf(out, n, "%.*s", (int)strcspn(v, "\r"), v);
			return out;
		}
	}
	return NULL;
}

static const char *body_of(const struct reply *r, size_t *len)
{
	const char *p = strstr(r->buf, "\r\n\r\n");

	*len = p ? r->len - (p + 4 - r->buf) : 0;
	return p ? p + 4 : "";
}

static bool expect_reply(struct test_ctx *t, const struct reply *r, int status,
			 const char *body, const char *what)
{
	char cl[32], want_cl[32];
	size_t len;
	const char *b = body_of(r, &len);

	if (!ASSERT_OK(t, r->err, what) || !ASSERT_EQ(t, status_of(r), status, what))
		return false;
	if (!body)
		return true;
	snprintf(want_cl, sizeof(want_cl), "%zu", strlen(body));
	return ASSERT_EQ(t, len, strlen(body), what) && ASSERT_STREQ(t, b, body, what) &&
	       ASSERT_STREQ(t, header_of(r, "Content-Length", cl, sizeof(cl)), want_cl, what);
}

/* --- tests --- */

static void test_parse_listen(struct test_ctx *t)
{
	static const struct {
		const char *s;
		int family, port;
	} ok[] = {
		{ "127.0.0.1:9464", AF_INET, 9464 }, { "0.0.0.0:0", AF_INET, 0 },
		{ "255.255.255.255:65535", AF_INET, 65535 }, { "[::1]:9464", AF_INET6, 9464 },
		{ "[::]:80", AF_INET6, 80 }, { "[fe80::1%1]:80", AF_INET6, 80 },
		{ "[::ffff:127.0.0.1]:1", AF_INET6, 1 },
	};
	static const char *const bad[] = {
		"", "127.0.0.1", "127.0.0.1:", ":9464", "localhost:9464", "127.1:80", "::1:80",
		"[::1]", "[::1]80", "[::1:80", "[]:80", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:+80", "127.0.0.1: 80", "127.0.0.1:80x", "[127.0.0.1]:80",
		"1.2.3.4:99999999999999999999", "[::1]:80:80",
	};
	struct sockaddr_storage ss;
	socklen_t len;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (!ASSERT_OK(t, http__parse_listen(ok[i].s, &ss, &len), ok[i].s))
			continue;
		ASSERT_EQ(t, ss.ss_family, ok[i].family, ok[i].s);
		ASSERT_EQ(t, ntohs(((struct sockaddr_in *)&ss)->sin_port), ok[i].port, ok[i].s);
		ASSERT_EQ(t, len, ok[i].family == AF_INET ? sizeof(struct sockaddr_in)
							  : sizeof(struct sockaddr_in6), ok[i].s);
	}
	http__parse_listen("[fe80::1%1]:80", &ss, &len);
	ASSERT_EQ(t, ((struct sockaddr_in6 *)&ss)->sin6_scope_id, 1, "scope id");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(t, http__parse_listen(bad[i], &ss, &len), -EINVAL, bad[i]);
	ASSERT_EQ(t, http__parse_listen(NULL, &ss, &len), -EINVAL, "NULL");
}

static void client_routes(struct shared *sh)
{
	exchange(sh, &sh->r[0], "GET /echo?pid=123&x=%41 HTTP/1.1\r\nHost: t\r\n"
				"X-Test: hello\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[1], "GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[2], "HEAD /echo?pid=9 HTTP/1.1\r\nHost: t\r\n"
				"Connection: close\r\n\r\n");
	exchange(sh, &sh->r[3], "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
				"Connection: close\r\n\r\nhello");
	exchange(sh, &sh->r[4], "GET /fail HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[5], "GET /unavailable HTTP/1.1\r\nHost: t\r\n"
				"Connection: close\r\n\r\n");
	exchange(sh, &sh->r[6], "DELETE /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[7], "GET /empty HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[8], "GET /echo?pid=%31%32 HTTP/1.0\r\n\r\n");
	exchange(sh, &sh->r[9], "GET /echo HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
				"Connection: close\r\n\r\n");
}

static void test_routes(struct test_ctx *t)
{
	struct http_opts opts = { .listen = "127.0.0.1:0" };
	struct shared *sh;
	struct fixture f;
	char hdr[128];
	size_t len;

	if (!fixture_start(t, &f, &opts, AF_INET) || !serve_client(t, &f, client_routes))
		goto cleanup;
	sh = f.sh;
	expect_reply(t, &sh->r[0], 200, "method=GET path=/echo pid=123 x-test=hello\n", "GET");
	ASSERT_STREQ(t, header_of(&sh->r[0], "Content-Type", hdr, sizeof(hdr)),
		     "text/plain; charset=utf-8", "default content type");
	expect_reply(t, &sh->r[1], 404, "not found\n", "unknown path");
	/* HEAD: the GET's headers, Content-Length included, and no body */
	expect_reply(t, &sh->r[2], 200, NULL, "HEAD");
	body_of(&sh->r[2], &len);
	ASSERT_EQ(t, len, 0, "HEAD has no body");
	snprintf(hdr, sizeof(hdr), "%zu", strlen("method=HEAD path=/echo pid=9 x-test=(none)\n"));
	ASSERT_STREQ(t, header_of(&sh->r[2], "Content-Length", hdr + 64, 64), hdr,
		     "HEAD Content-Length");
	expect_reply(t, &sh->r[3], 405, "method not allowed\n", "POST");
	ASSERT_STREQ(t, header_of(&sh->r[3], "Allow", hdr, sizeof(hdr)), "GET, HEAD", "Allow");
	expect_reply(t, &sh->r[4], 500, "internal error\n", "handler error");
	expect_reply(t, &sh->r[5], 503, "no targets yet\n", "handler status");
	expect_reply(t, &sh->r[6], 404, "not found\n", "DELETE unknown path");
	expect_reply(t, &sh->r[7], 200, "", "empty body");
	expect_reply(t, &sh->r[8], 200, "method=GET path=/echo pid=12 x-test=(none)\n",
		     "HTTP/1.0, URL-encoded query");
	expect_reply(t, &sh->r[9], 200, "method=GET path=/echo pid=(none) x-test=(none)\n",
		     "gzip off: identity");
	ASSERT_TRUE(t, !header_of(&sh->r[9], "Content-Encoding", hdr, sizeof(hdr)),
		    "no Content-Encoding when gzip is off");
cleanup:
	fixture_stop(&f);
}

static void client_malformed(struct shared *sh)
{
	static char big[80 << 10];
	int n;

	exchange(sh, &sh->r[0], "GARBAGE\r\n\r\n");
	exchange(sh, &sh->r[1], "GET\r\n\r\n");
	exchange(sh, &sh->r[2], "GET /echo HTTP/9.9\r\nHost: t\r\n\r\n");
	n = snprintf(big, sizeof(big), "GET /echo HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(big + n, 'a', sizeof(big) - n - 4);
	memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
	exchange_n(sh, &sh->r[3], big, sizeof(big));
	exchange_n(sh, &sh->r[4], "\0\1\2\3 /echo HTTP/1.1\r\n\r\n", 24);
	exchange(sh, &sh->r[5], "GET /echo HTTP/1.1\r\nHost: t\r\nBroken header line\r\n\r\n");
	/* Ask for a large body and leave: the server must neither die of SIGPIPE nor stall. */
	for (int i = 0; i < 3; i++) {
		int fd = client_connect(sh);
		struct linger reset = { .l_onoff = 1 };

		if (fd < 0)
			_exit(2);
		send_all(fd, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n", 30);
		if (i)	/* twice with a RST rather than a FIN */
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
		close(fd);
	}
	exchange(sh, &sh->r[6], "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

static void test_malformed(struct test_ctx *t)
{
	static const char *const what[] = {
		"no method or URI", "no URI", "HTTP/9.9", "80 KiB header", "binary request line",
		"header without colon",
	};
	/* MHD reads a request line starting with NUL as an empty line and waits for more: the
	 * idle timeout, shorter than the client's 5 s, is what ends that one. */
	struct http_opts opts = { .listen = "127.0.0.1:0", .timeout_s = 1 };
	struct fixture f;

	if (!fixture_start(t, &f, &opts, AF_INET) || !serve_client(t, &f, client_malformed))
		goto cleanup;
	for (int i = 0; i < 6; i++) {
		const struct reply *r = &f.sh->r[i];
		int status = status_of(r);

		/* refused: an error status, or the connection closed without an answer; never a
		 * hang (the client's 5 s timeout would show as -EAGAIN) and never served */
		if (r->err == -EAGAIN || (status != -1 && (status < 400 || status > 599)) ||
		    (status == -1 && r->len))
			FAILF(t, "%s: err %d, %zu bytes: %.40s", what[i], r->err, r->len, r->buf);
	}
	expect_reply(t, &f.sh->r[6], 200, "method=GET path=/echo pid=(none) x-test=(none)\n",
		     "served after malformed requests");
cleanup:
	fixture_stop(&f);
}

#define PROM_2_42_ACCEPT                                                                           \
	"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"   \
	"q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
#define PROM_3_ACCEPT                                                                              \
	"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"                   \
	"application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"               \
	"escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

static void client_accept(struct shared *sh)
{
	exchange(sh, &sh->r[0], "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept: " PROM_2_42_ACCEPT
				"\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[1], "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept: " PROM_3_ACCEPT
				"\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[2], "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[3], "HEAD /metrics HTTP/1.1\r\nHost: t\r\nAccept: " PROM_2_42_ACCEPT
				"\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[4], "GET /metrics HTTP/1.1\r\nHost: t\r\n"
				"Accept: text/plain;version=0.0.4\r\nConnection: close\r\n\r\n");
}

static void test_accept(struct test_ctx *t)
{
	struct http_opts opts = { .listen = "127.0.0.1:0" };
	struct strbuf text = {}, om = {};
	struct fixture f;
	char hdr[128], cl[32];

	if (!fixture_start(t, &f, &opts, AF_INET) || !serve_client(t, &f, client_accept))
		goto cleanup;
	if (!ASSERT_OK(t, prom__render(f.prom, PROM_FMT_TEXT, &text), "text") ||
	    !ASSERT_OK(t, prom__render(f.prom, PROM_FMT_OPENMETRICS, &om), "om"))
		goto cleanup;
	expect_reply(t, &f.sh->r[0], 200, om.buf, "Prometheus 2.42");
	ASSERT_STREQ(t, header_of(&f.sh->r[0], "Content-Type", hdr, sizeof(hdr)),
		     PROM_CT_OPENMETRICS, "Prometheus 2.42 content type");
	expect_reply(t, &f.sh->r[1], 200, om.buf, "Prometheus 3");
	ASSERT_STREQ(t, header_of(&f.sh->r[1], "Content-Type", hdr, sizeof(hdr)),
		     PROM_CT_OPENMETRICS "; escaping=underscores", "Prometheus 3 content type");
	expect_reply(t, &f.sh->r[2], 200, text.buf, "no Accept");
	ASSERT_STREQ(t, header_of(&f.sh->r[2], "Content-Type", hdr, sizeof(hdr)), PROM_CT_TEXT,
		     "no Accept content type");
	expect_reply(t, &f.sh->r[3], 200, NULL, "HEAD");
	ASSERT_STREQ(t, header_of(&f.sh->r[3], "Content-Type", hdr, sizeof(hdr)),
		     PROM_CT_OPENMETRICS, "HEAD content type");
	snprintf(cl, sizeof(cl), "%zu", om.len);
	ASSERT_STREQ(t, header_of(&f.sh->r[3], "Content-Length", hdr, sizeof(hdr)), cl,
		     "HEAD Content-Length");
	expect_reply(t, &f.sh->r[4], 200, text.buf, "text/plain 0.0.4");
	ASSERT_STREQ(t, header_of(&f.sh->r[4], "Content-Type", hdr, sizeof(hdr)), PROM_CT_TEXT,
		     "text/plain content type");
cleanup:
	strbuf_free(&text);
	strbuf_free(&om);
	fixture_stop(&f);
}

static void client_gzip(struct shared *sh)
{
	exchange(sh, &sh->r[0], "GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
				"Connection: close\r\n\r\n");
	exchange(sh, &sh->r[1], "GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[2], "GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip;q=0, "
				"identity\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[3], "GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: br, *;q=0.5\r\n"
				"Connection: close\r\n\r\n");
	exchange(sh, &sh->r[4], "HEAD /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: deflate, "
				"GZIP;q=0.8\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[5], "GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: *;q=0.5, "
				"gzip;q=0.000\r\nConnection: close\r\n\r\n");
	exchange(sh, &sh->r[6], "GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip; x=1; "
				"q=0\r\nConnection: close\r\n\r\n");
}

static bool expect_gzip(struct test_ctx *t, const struct reply *r, const struct strbuf *want,
			const char *what)
{
	size_t len, out_len = want->len + 1;
	const char *body = body_of(r, &len);
	char hdr[64], *out = malloc(out_len);
	z_stream z = { .next_in = (Bytef *)body, .avail_in = len };
	bool ok = false;

	if (!ASSERT_OK(t, r->err, what) || !ASSERT_EQ(t, status_of(r), 200, what) ||
	    !ASSERT_STREQ(t, header_of(r, "Content-Encoding", hdr, sizeof(hdr)), "gzip", what) ||
	    !ASSERT_STREQ(t, header_of(r, "Vary", hdr, sizeof(hdr)), "Accept-Encoding", what) ||
	    !ASSERT_TRUE(t, out && inflateInit2(&z, 15 + 16) == Z_OK, what))
		goto cleanup;
	z.next_out = (Bytef *)out;
	z.avail_out = out_len;
	ok = ASSERT_EQ(t, inflate(&z, Z_FINISH), Z_STREAM_END, what) &&
	     ASSERT_EQ(t, z.total_out, want->len, what) &&
	     ASSERT_TRUE(t, !memcmp(out, want->buf, want->len), what) &&
	     ASSERT_TRUE(t, len < want->len / 4, what);
	inflateEnd(&z);
cleanup:
	free(out);
	return ok;
}

static void test_gzip(struct test_ctx *t)
{
	struct http_opts opts = { .listen = "127.0.0.1:0", .gzip = true };
	struct http_response big = {};
	struct fixture f;
	char hdr[64], cl[32];

	if (!fixture_start(t, &f, &opts, AF_INET) || !serve_client(t, &f, client_gzip))
		goto cleanup;
	h_big(NULL, NULL, &big);
	if (!expect_gzip(t, &f.sh->r[0], &big.body, "gzip"))
		goto cleanup;
	expect_reply(t, &f.sh->r[1], 200, big.body.buf, "no Accept-Encoding");
	ASSERT_TRUE(t, !header_of(&f.sh->r[1], "Content-Encoding", hdr, sizeof(hdr)),
		    "identity without Accept-Encoding");
	expect_reply(t, &f.sh->r[2], 200, big.body.buf, "gzip;q=0");
	ASSERT_TRUE(t, !header_of(&f.sh->r[2], "Content-Encoding", hdr, sizeof(hdr)),
		    "identity for gzip;q=0");
	expect_gzip(t, &f.sh->r[3], &big.body, "*;q=0.5");
	expect_reply(t, &f.sh->r[4], 200, NULL, "HEAD");
	ASSERT_STREQ(t, header_of(&f.sh->r[4], "Content-Encoding", hdr, sizeof(hdr)), "gzip",
		     "HEAD Content-Encoding");
	snprintf(cl, sizeof(cl), "%zu", f.sh->r[0].len - (body_of(&f.sh->r[0], &(size_t){ 0 }) -
							  f.sh->r[0].buf));
	ASSERT_STREQ(t, header_of(&f.sh->r[4], "Content-Length", hdr, sizeof(hdr)), cl,
		     "HEAD Content-Length is the compressed length");
	expect_reply(t, &f.sh->r[5], 200, big.body.buf, "gzip;q=0.000 beats *");
	expect_reply(t, &f.sh->r[6], 200, big.body.buf, "q=0 after another parameter");
cleanup:
	strbuf_free(&big.body);
	fixture_stop(&f);
}

/* 200 connections at once, each sending a request as soon as it is connected; every one
 * ends answered or refused (closed or reset) before the deadline. Then one more request. */
static void client_concurrent(struct shared *sh)
{
	enum { N = 200, PENDING, SENT, ANSWERED, REFUSED };
	static const char req[] = "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	struct pollfd pfd[N];
	int state[N], left = N;
	bool ok_status[N] = {};
	long deadline = now_ms() + 20000;
	struct sockaddr_storage ss;
	socklen_t len = server_addr(sh, &ss);
	char buf[4096];

	for (int i = 0; i < N; i++) {
		pfd[i].fd = socket(sh->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		pfd[i].events = POLLOUT;
		state[i] = PENDING;
		if (pfd[i].fd < 0 ||
		    (connect(pfd[i].fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)) {
			state[i] = REFUSED;
			pfd[i].fd = -pfd[i].fd - 1;	/* poll ignores negative fds */
			left--;
		}
	}
	while (left && now_ms() < deadline) {
		if (poll(pfd, N, deadline - now_ms()) <= 0)
			continue;
		for (int i = 0; i < N; i++) {
			int err = 0, done = 0;
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (state[i] == PENDING) {
				getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err,
					   &(socklen_t){ sizeof(err) });
				if (err || send(pfd[i].fd, req, sizeof(req) - 1, MSG_NOSIGNAL) !=
						   (ssize_t)sizeof(req) - 1) {
					done = REFUSED;
				} else {
					state[i] = SENT;
					pfd[i].events = POLLIN;
				}
			} else {
				n = recv(pfd[i].fd, buf, sizeof(buf), 0);
				if (n > 0 && !ok_status[i] && !strncmp(buf, "HTTP/1.1 200 ", 13))
					ok_status[i] = true;
				if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
					done = ok_status[i] ? ANSWERED : REFUSED;
			}
			if (done) {
				state[i] = done;
				close(pfd[i].fd);
				pfd[i].fd = -1;
				left--;
			}
		}
	}
	for (int i = 0; i < N; i++) {
		sh->answered += state[i] == ANSWERED;
		sh->refused += state[i] == REFUSED;
		sh->unfinished += state[i] == PENDING || state[i] == SENT;
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	}
	exchange(sh, &sh->r[0], "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

static void test_concurrent(struct test_ctx *t)
{
	struct http_opts opts = { .listen = "127.0.0.1:0", .max_connections = 32 };
	struct fixture f;

	if (!fixture_start(t, &f, &opts, AF_INET) || !serve_client(t, &f, client_concurrent))
		goto cleanup;
	ASSERT_EQ(t, f.sh->unfinished, 0, "connections unresolved after 20 s");
	ASSERT_EQ(t, f.sh->answered + f.sh->refused, 200, "answered + refused");
	ASSERT_TRUE(t, f.sh->answered >= 32, "at least the connection limit answered");
	expect_reply(t, &f.sh->r[0], 200, "method=GET path=/echo pid=(none) x-test=(none)\n",
		     "served afterwards");
cleanup:
	fixture_stop(&f);
}

static void client_per_ip(struct shared *sh)
{
	static const char req[] = "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	int a = client_connect(sh), b = client_connect(sh), c = client_connect(sh);

	if (a < 0 || b < 0 || c < 0)
		_exit(2);
	read_all(c, &sh->r[0]);	/* over the limit: closed at once */
	sh->r[1].err = send_all(a, req, sizeof(req) - 1);
	read_all(a, &sh->r[1]);
	sh->r[2].err = send_all(b, req, sizeof(req) - 1);
	read_all(b, &sh->r[2]);
	close(a), close(b), close(c);
}

static void test_per_ip_limit(struct test_ctx *t)
{
	struct http_opts opts = { .listen = "127.0.0.1:0", .max_per_ip = 2 };
	struct fixture f;

	if (!fixture_start(t, &f, &opts, AF_INET) || !serve_client(t, &f, client_per_ip))
		goto cleanup;
	ASSERT_TRUE(t, f.sh->r[0].len == 0 && f.sh->r[0].err != -EAGAIN,
		    "third connection from one address closed without an answer");
	expect_reply(t, &f.sh->r[1], 200, NULL, "first connection served");
	expect_reply(t, &f.sh->r[2], 200, NULL, "second connection served");
cleanup:
	fixture_stop(&f);
}

/* A client that sends half a request and stalls is closed after the idle timeout, and
 * others are served meanwhile. */
static void client_slow(struct shared *sh)
{
	static const char partial[] = "GET /echo HTTP/1.1\r\nHost: t\r\n";
	struct pollfd p;
	long sent;
	int a = client_connect(sh);

	if (a < 0 || send_all(a, partial, sizeof(partial) - 1))
		_exit(2);
	sent = now_ms();
	exchange(sh, &sh->r[0], "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	p = (struct pollfd){ .fd = a, .events = POLLIN };
	sh->slow_closed_early = poll(&p, 1, 0) != 0;
	read_all(a, &sh->r[1]);
	sh->slow_ms = now_ms() - sent;
	close(a);
	exchange(sh, &sh->r[2], "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

static void test_slow_client(struct test_ctx *t)
{
	struct http_opts opts = { .listen = "127.0.0.1:0", .timeout_s = 1 };
	struct fixture f;

	if (!fixture_start(t, &f, &opts, AF_INET) || !serve_client(t, &f, client_slow))
		goto cleanup;
	expect_reply(t, &f.sh->r[0], 200, NULL, "served while another client stalls");
	ASSERT_EQ(t, f.sh->slow_closed_early, 0, "stalled client still open then");
	ASSERT_TRUE(t, f.sh->r[1].err != -EAGAIN, "stalled client closed by the server (< 5 s)");
	ASSERT_EQ(t, f.sh->r[1].len, 0, "stalled client got no answer");
	ASSERT_TRUE(t, f.sh->slow_ms < 5000, "closed within the bound");
	expect_reply(t, &f.sh->r[2], 200, NULL, "served afterwards");
cleanup:
	fixture_stop(&f);
}

static void client_ipv6(struct shared *sh)
{
	exchange(sh, &sh->r[0], "GET /echo?pid=6 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

static void test_ipv6(struct test_ctx *t)
{
	struct http_opts opts = { .listen = "[::1]:0" };
	struct sockaddr_in6 probe = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct fixture f;

	if (fd < 0 || bind(fd, (struct sockaddr *)&probe, sizeof(probe))) {
		if (fd >= 0)
			close(fd);
		SKIP(t, "no IPv6 loopback here");
		return;
	}
	close(fd);
	if (fixture_start(t, &f, &opts, AF_INET6) && serve_client(t, &f, client_ipv6))
		expect_reply(t, &f.sh->r[0], 200,
			     "method=GET path=/echo pid=6 x-test=(none)\n", "GET over IPv6");
	fixture_stop(&f);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static char log_lines[8][256];
static int nlog_lines;

static void capture_log(int level, const char *msg)
{
	if (level <= LOG_WARN && nlog_lines < 8)
		snprintf(log_lines[nlog_lines++], sizeof(log_lines[0]), "%s", msg);
}

/* Each failed start returns the reason as -errno with one log line, and leaks nothing. */
static void test_start_errors(struct test_ctx *t)
{
	static const struct {
		const char *listen;
		int err;
		const char *logged;
	} cases[] = {
		{ NULL, -EADDRINUSE, "Address already in use" },	/* listen filled below */
		{ "localhost:9464", -EINVAL, "addresses as numbers" },
		{ "192.0.2.1:0", -EADDRNOTAVAIL, "Cannot assign requested address" },
	};
	struct http_server *a = NULL, *b = (void *)1;
	struct loop l = { .epfd = -1 };
	char busy[32];
	int fds, err;

	if (!ASSERT_OK(t, loop__init(&l), "loop"))
		return;
	fds = count_fds();
	if (!ASSERT_OK(t, http__start(&a, &l, &(struct http_opts){ .listen = "127.0.0.1:0" }),
		       "first server"))
		goto cleanup;
	snprintf(busy, sizeof(busy), "127.0.0.1:%d", http__port(a));
	log_set_sink(capture_log);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *listen = cases[i].listen ? cases[i].listen : busy;
		int before = count_fds(), err;

		nlog_lines = 0;
		err = http__start(&b, &l, &(struct http_opts){ .listen = listen });
		ASSERT_EQ(t, err, cases[i].err, listen);
		ASSERT_TRUE(t, b == NULL, "no server on failure");
		ASSERT_EQ(t, nlog_lines, 1, "one log line");
		ASSERT_TRUE(t, strstr(log_lines[0], listen), log_lines[0]);
		ASSERT_TRUE(t, strstr(log_lines[0], cases[i].logged), log_lines[0]);
		ASSERT_EQ(t, count_fds(), before, "no fd left behind");
	}
	log_set_sink(NULL);
	/* No options: the default address (unless something here already serves on it). */
	err = http__start(&b, &l, NULL);
	if (err != -EADDRINUSE && ASSERT_OK(t, err, "default listen"))
		ASSERT_EQ(t, http__port(b), 9464, "default port");
	http__stop(b);
	ASSERT_EQ(t, http__route(a, "metrics", h_echo, NULL), -EINVAL, "route without /");
	ASSERT_EQ(t, http__route(a, "/m?x=1", h_echo, NULL), -EINVAL, "route with a query");
	ASSERT_EQ(t, http__route(a, "/m", NULL, NULL), -EINVAL, "route without handler");
	ASSERT_OK(t, http__route(a, "/m", h_echo, NULL), "route");
	ASSERT_EQ(t, http__route(a, "/m", h_echo, NULL), -EEXIST, "route twice");
	ASSERT_EQ(t, http__port(NULL), -EINVAL, "port of NULL");
	http__stop(NULL);
	http__stop(a);
	a = NULL;
	ASSERT_EQ(t, count_fds(), fds, "stop closes everything");
cleanup:
	log_set_sink(NULL);
	http__stop(a);
	loop__close(&l);
}

static void client_one(struct shared *sh)
{
	exchange(sh, &sh->r[0], "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

/* http__stop with a connection still open (a stalled request) closes it and every fd. */
static void test_stop_with_open_connection(struct test_ctx *t)
{
	struct http_opts opts = { .listen = "127.0.0.1:0" };
	struct fixture f = { .loop = { .epfd = -1 } };
	struct reply *held = calloc(1, sizeof(*held));
	int fds = count_fds(), fd = -1;

	if (!ASSERT_OK_PTR(t, held, "calloc") || !fixture_start(t, &f, &opts, AF_INET))
		goto cleanup;
	/* queued before the client's, so the server accepts it during the client's run */
	fd = client_connect(f.sh);
	if (!ASSERT_TRUE(t, fd >= 0, "connect") ||
	    !ASSERT_OK(t, send_all(fd, "GET /echo HTTP/1.1\r\n", 20), "partial request") ||
	    !serve_client(t, &f, client_one))
		goto cleanup;
	expect_reply(t, &f.sh->r[0], 200, NULL, "served");
	http__stop(f.srv);
	f.srv = NULL;
	read_all(fd, held);
	ASSERT_TRUE(t, held->len == 0 && held->err != -EAGAIN, "open connection closed by stop");
cleanup:
	if (fd >= 0)
		close(fd);
	fixture_stop(&f);
	free(held);
	ASSERT_EQ(t, count_fds(), fds, "no fd left behind");
}

int main(void)
{
	RUN(test_parse_listen);
	RUN(test_routes);
	RUN(test_malformed);
	RUN(test_accept);
	RUN(test_gzip);
	RUN(test_concurrent);
	RUN(test_per_ip_limit);
	RUN(test_slow_client);
	RUN(test_ipv6);
	RUN(test_start_errors);
	RUN(test_stop_with_open_connection);
	return harness_done();
}
