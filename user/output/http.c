// SPDX-License-Identifier: GPL-2.0
/* libmicrohttpd in "external epoll" mode: MHD keeps its sockets in an epoll set of its own,
 * whose fd sits in our loop; when it is readable we call MHD_run, which never blocks. MHD
 * also needs to run without I/O -- to close idle connections, or to go on with data it has
 * already read -- and says when through MHD_get_timeout; a one-shot timerfd in the loop
 * stands for that timeout and is re-armed after every MHD_run. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <zlib.h>
#include "http.h"

#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_TIMEOUT_S 10

struct http_route {
	char *path;
	http_handler_fn fn;
	void *ctx;
};

struct http_server {
	struct MHD_Daemon *mhd;
	struct loop *loop;
	int mhd_fd;		/* MHD's epoll set, watched by our loop */
	int timer_fd;		/* MHD_get_timeout, as a one-shot timer */
	bool mhd_fd_added, timer_fd_added;
	int port;
	bool gzip;
	struct http_route *routes;
	size_t nroutes;
	char mhd_error[160];	/* MHD's last log line, for the start failure message */
};

struct http_request {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
};

const char *http_request__method(const struct http_request *req)
{
	return req->method;
}

const char *http_request__path(const struct http_request *req)
{
	return req->path;
}

const char *http_request__query(const struct http_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_request__header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static const struct http_route *find_route(const struct http_server *srv, const char *path)
{
	for (size_t i = 0; i < srv->nroutes; i++)
		if (!strcmp(srv->routes[i].path, path))
			return &srv->routes[i];
	return NULL;
}

/* A short fixed answer: errors, 404, 405. */
static enum MHD_Result reply_static(struct MHD_Connection *conn, unsigned status,
				    const char *text, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;	/* MHD closes the connection */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Whether a q parameter value is zero: "0", "0.", "0.000". Only that matters here: any
 * other qvalue makes the coding acceptable. */
static bool q_is_zero(const char *v, const char *end)
{
	if (v >= end || *v++ != '0')
		return false;
	if (v < end && *v == '.')
		for (v++; v < end && *v == '0'; v++)
			;
	return v >= end || *v == ' ' || *v == '\t' || *v == ';';
}

/* Whether an Accept-Encoding value allows gzip: listed (or covered by "*") without q=0. */
static bool accepts_gzip(const char *h)
{
	int gzip = -1, star = -1;

	while (h && *h) {
		const char *end = h + strcspn(h, ","), *name = h + strspn(h, " \t"), *p;
		size_t n = strcspn(name, " \t;,");
		bool ok = true;

		for (p = memchr(name, ';', end - name); p; p = memchr(p, ';', end - p)) {
			p += 1 + strspn(p + 1, " \t");
			if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=' && q_is_zero(p + 2, end))
				ok = false;
		}
		if ((n == 4 && !strncasecmp(name, "gzip", 4)) ||
		    (n == 6 && !strncasecmp(name, "x-gzip", 6)))
			gzip = ok;
		else if (n == 1 && *name == '*')
			star = ok;
		h = *end ? end + 1 : end;
	}
	return gzip >= 0 ? gzip : star > 0;
}

static int gzip_body(const char *in, size_t len, char **out, size_t *out_len)
{
	z_stream z = {};
	size_t cap;
	char *buf;
	int ret;

	/* windowBits 15 + 16 writes the gzip wrapper. Level 1: scrape bodies shrink about
	 * tenfold even at the fastest level, and the agent's CPU is the scarcer resource. */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, len);
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = len;
	z.next_out = (Bytef *)buf;
	z.avail_out = cap;
	ret = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (ret != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

static enum MHD_Result reply_route(struct http_server *srv, const struct http_route *route,
				   struct MHD_Connection *conn, const char *url, const char *method)
{
	struct http_request req = { .conn = conn, .method = method, .path = url };
	struct http_response resp = {};
	const char *encoding = NULL;
	struct MHD_Response *r;
	enum MHD_Result ret;
	int err;

	err = route->fn(route->ctx, &req, &resp);
	if (!err && resp.body.oom)
		err = -ENOMEM;
	if (!err && (resp.status && (resp.status < 200 || resp.status > 599)))
		err = -EINVAL;
	if (err) {
		log_dbg("http: %s %s: %s", method, url, strerror(-err));
		strbuf_free(&resp.body);
		return reply_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
	}
	if (srv->gzip && resp.body.len && !resp.compressed &&
	    accepts_gzip(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_ACCEPT_ENCODING))) {
		char *z;
		size_t zlen;

		if (!gzip_body(resp.body.buf, resp.body.len, &z, &zlen)) {
			free(resp.body.buf);
			resp.body.buf = z;
			resp.body.len = zlen;
			encoding = "gzip";
		}
	}
	if (resp.body.len) {
		/* MUST_FREE: MHD frees the buffer with free() when the last send is done */
		r = MHD_create_response_from_buffer(resp.body.len, resp.body.buf,
						    MHD_RESPMEM_MUST_FREE);
		if (!r)
			free(resp.body.buf);
	} else {
		free(resp.body.buf);
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!r)
		return MHD_NO;
	if (!resp.content_type)
		resp.content_type = "text/plain; charset=utf-8";
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type);
	if (encoding)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, encoding);
	if (srv->gzip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	ret = MHD_queue_response(conn, resp.status ? resp.status : MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	static int answered;
	struct http_server *srv = cls;
	const struct http_route *route;

	/* Answered on the first call, once the headers are in; a request body (of a refused
	 * POST) may still come in later calls and is dropped. */
	if (*con_cls == &answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	*con_cls = &answered;
	route = find_route(srv, url);
	if (!route)
		return reply_static(conn, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
				    "GET, HEAD");
	return reply_route(srv, route, conn, url, method);
}

/* MHD's messages (a client sent garbage, the connection limit was hit) are routine for a
 * server on a network: debug only. The last one explains a failed start. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	size_t n;

	vsnprintf(srv->mhd_error, sizeof(srv->mhd_error), fmt, ap);
	n = strlen(srv->mhd_error);
	while (n && (srv->mhd_error[n - 1] == '\n' || srv->mhd_error[n - 1] == '.'))
		srv->mhd_error[--n] = '\0';
	log_dbg("http: %s", srv->mhd_error);
}

static unsigned connections(struct http_server *srv)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

static void rearm(struct http_server *srv, bool now)
{
	struct itimerspec its = {};
	MHD_UNSIGNED_LONG_LONG ms;

	if (now) {
		its.it_value.tv_nsec = 1;
	} else if (MHD_get_timeout(srv->mhd, &ms) == MHD_YES) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000;
		if (!ms)	/* data already read and waiting: run again at once */
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(srv->timer_fd, 0, &its, NULL);
}

static int on_ready(void *ctx, int fd, uint32_t events)
{
	struct http_server *srv = ctx;
	uint64_t expirations;
	unsigned before;

	if (fd == srv->timer_fd && read(fd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		return -errno;
	before = connections(srv);
	/* MHD_NO here is one failed epoll_wait or accept: MHD tries again on the next call, and
	 * the agent's other work must go on regardless. */
	if (MHD_run(srv->mhd) != MHD_YES)
		log_dbg("http: MHD_run failed");
	/* At the connection limit MHD takes the listening socket out of its epoll set, and puts
	 * it back only at the start of a later MHD_run (0.9.75), while MHD_get_timeout knows
	 * nothing of it: if the connections that closed were the last ones, nothing would call
	 * MHD_run again and new clients would wait in the backlog forever. So when connections
	 * closed, run once more. */
	rearm(srv, connections(srv) < before);
	return 0;
}

int http__parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1 + 16];	/* + "%" + an interface name or index */
	const char *h, *port_s, *sep;
	bool v6 = s && s[0] == '[';
	unsigned long port;
	size_t host_len;
	char *end;

	if (!s)
		return -EINVAL;
	if (v6) {
		h = s + 1;
		sep = strchr(h, ']');
		if (!sep || sep[1] != ':')
			return -EINVAL;
		port_s = sep + 2;
	} else {
		h = s;
		sep = strchr(h, ':');
		if (!sep || strchr(sep + 1, ':'))	/* none, or a bare IPv6 address */
			return -EINVAL;
		port_s = sep + 1;
	}
	host_len = sep - h;
	if (!host_len || host_len >= sizeof(host) || port_s[0] < '0' || port_s[0] > '9')
		return -EINVAL;
	memcpy(host, h, host_len);
	host[host_len] = '\0';
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (*end || errno || port > 65535)
		return -EINVAL;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		/* getaddrinfo for the %scope suffix of link-local addresses; NUMERICHOST: never
		 * a name lookup */
		struct addrinfo hints = {
			.ai_family = AF_INET6,
			.ai_socktype = SOCK_STREAM,
			.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
		}, *res = NULL;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (getaddrinfo(host, NULL, &hints, &res) || !res ||
		    res->ai_addrlen > sizeof(*ss)) {
			if (res)
				freeaddrinfo(res);
			return -EINVAL;
		}
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		*len = res->ai_addrlen;
		freeaddrinfo(res);
		sin6->sin6_port = htons(port);
	} else {
		/* inet_pton, not inet_aton: no "127.1" or octal surprises */
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
	}
	return 0;
}

/* Our own listening socket rather than MHD's: bind()'s errno (EADDRINUSE, EACCES,
 * EADDRNOTAVAIL) reaches the caller, which MHD_start_daemon's NULL would not tell. */
static int listen_on(const struct sockaddr_storage *ss, socklen_t len, int backlog, int *port)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	int err;

	if (fd < 0)
		return -errno;
	/* a restarted agent must not wait out its old connections' TIME_WAIT */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)ss, len) || listen(fd, backlog) ||
	    getsockname(fd, (struct sockaddr *)&bound, &bound_len)) {
		err = -errno;
		close(fd);
		return err;
	}
	*port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
						  : ((struct sockaddr_in *)&bound)->sin_port);
	return fd;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int http__start(struct http_server **out, struct loop *loop, const struct http_opts *opts)
{
	static const struct http_opts defaults = {};
	const char *addr, *why = NULL;
	struct http_server *srv = NULL;
	struct sockaddr_storage ss;
	unsigned max_conn, timeout;
	int lfd = -1, mhd_lfd, err;
	socklen_t len;

	*out = NULL;
	opts = opts ? opts : &defaults;
	addr = opts->listen ? opts->listen : HTTP_DEFAULT_LISTEN;
	max_conn = opts->max_connections ? opts->max_connections : DEFAULT_MAX_CONNECTIONS;
	timeout = opts->timeout_s ? opts->timeout_s : DEFAULT_TIMEOUT_S;
	err = http__parse_listen(addr, &ss, &len);
	if (err) {
		why = "want IPv4:PORT or [IPv6]:PORT, addresses as numbers";
		goto cleanup;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		err = -ENOMEM;
		goto cleanup;
	}
	srv->loop = loop;
	srv->mhd_fd = srv->timer_fd = -1;
	srv->gzip = opts->gzip;
	/* Backlog = the connection limit: past the limit as many wait for a slot, and beyond
	 * that the kernel drops SYNs, so what a flood can hold stays bounded. */
	lfd = listen_on(&ss, len, max_conn, &srv->port);
	if (lfd < 0) {
		err = lfd;
		lfd = -1;
		goto cleanup;
	}
	/* MHD owns the socket it is given, but 0.9.75 closes it on some of its failure paths
	 * and not on others: give it a duplicate, and close that after a failure only if it is
	 * still our socket. */
	mhd_lfd = fcntl(lfd, F_DUPFD_CLOEXEC, 0);
	if (mhd_lfd < 0) {
		err = -errno;
		goto cleanup;
	}
	srv->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request,
				    srv, MHD_OPTION_LISTEN_SOCKET, mhd_lfd,
				    MHD_OPTION_CONNECTION_LIMIT, max_conn,
				    MHD_OPTION_PER_IP_CONNECTION_LIMIT, opts->max_per_ip,
				    MHD_OPTION_CONNECTION_TIMEOUT, timeout,
				    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, MHD_OPTION_END);
	if (!srv->mhd) {
		if (same_file(mhd_lfd, lfd))
			close(mhd_lfd);
		err = -EIO;
		why = srv->mhd_error[0] ? srv->mhd_error : "libmicrohttpd failed to start";
		goto cleanup;
	}
	srv->mhd_fd = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
	srv->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (srv->timer_fd < 0) {
		err = -errno;
		goto cleanup;
	}
	err = loop__add(loop, srv->mhd_fd, on_ready, srv);
	if (err)
		goto cleanup;
	srv->mhd_fd_added = true;
	err = loop__add(loop, srv->timer_fd, on_ready, srv);
	if (err)
		goto cleanup;
	srv->timer_fd_added = true;
	rearm(srv, false);
	close(lfd);
	log_dbg("http: listening on %s, port %d", addr, srv->port);
	*out = srv;
	return 0;
cleanup:
	log_err("http: cannot serve on %s: %s", addr, why ? why : strerror(-err));
	if (lfd >= 0)
		close(lfd);
	http__stop(srv);
	return err;
}

int http__route(struct http_server *srv, const char *path, http_handler_fn fn, void *ctx)
{
	struct http_route *routes;
	char *copy;

	if (!srv || !path || path[0] != '/' || strchr(path, '?') || !fn)
		return -EINVAL;
	if (find_route(srv, path))
		return -EEXIST;
	routes = realloc(srv->routes, (srv->nroutes + 1) * sizeof(*routes));
	if (!routes)
		return -ENOMEM;
	srv->routes = routes;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	routes[srv->nroutes++] = (struct http_route){ .path = copy, .fn = fn, .ctx = ctx };
	return 0;
}

int http__port(const struct http_server *srv)
{
	return srv ? srv->port : -EINVAL;
}

void http__stop(struct http_server *srv)
{
	if (!srv)
		return;
	/* out of the loop before MHD closes the fd */
	if (srv->mhd_fd_added)
		loop__del(srv->loop, srv->mhd_fd);
	if (srv->timer_fd_added)
		loop__del(srv->loop, srv->timer_fd);
	if (srv->mhd)
		MHD_stop_daemon(srv->mhd);
	if (srv->timer_fd >= 0)
		close(srv->timer_fd);
	for (size_t i = 0; i < srv->nroutes; i++)
		free(srv->routes[i].path);
	free(srv->routes);
	free(srv);
}
