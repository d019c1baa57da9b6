/* SPDX-License-Identifier: GPL-2.0 */
/* A small HTTP server (libmicrohttpd) that lives in heapscope's single-threaded event loop:
 * no threads. GET and HEAD on routes registered by exact path; 404 for other paths, 405 for
 * other methods on a route; bounded connections and idle timeouts; gzip when the client
 * accepts it.
 *
 * Handlers run on the loop's thread, inside the loop's dispatch, one request at a time, so a
 * handler that renders from the caller's state sees one consistent snapshot of it, and
 * concurrent scrapes each get a whole one. */
#ifndef __HTTP_H
#define __HTTP_H

#include <stdbool.h>
#include <sys/socket.h>
#include "loop.h"
#include "util.h"

#define HTTP_DEFAULT_LISTEN "127.0.0.1:9464"

struct http_opts {
	const char *listen;		/* "ADDR:PORT", "[V6ADDR]:PORT"; NULL: the default */
	unsigned max_connections;	/* open at once; 0: 64. As many more wait in the backlog */
	unsigned max_per_ip;		/* 0: no per-address limit */
	unsigned timeout_s;		/* idle seconds before a connection is closed; 0: 10 */
	bool gzip;			/* compress route bodies when Accept-Encoding has gzip */
};

/* A request, valid only during the handler call. */
struct http_request;
const char *http_request__method(const struct http_request *req);	/* "GET" or "HEAD" */
const char *http_request__path(const struct http_request *req);	/* without the query */
/* A query argument, URL-decoded ("/metrics?pid=12": "pid" -> "12"); NULL if absent, and
 * also (libmicrohttpd) if given without a value ("?debug"). */
const char *http_request__query(const struct http_request *req, const char *key);
/* A request header, name case-insensitive; NULL if absent. */
const char *http_request__header(const struct http_request *req, const char *name);

struct http_response {
	struct strbuf body;
	const char *content_type;	/* must outlive the call (a literal); NULL: text/plain */
	unsigned status;		/* 0: 200 */
	bool compressed;		/* the body is a gzip file already: never gzip it again */
};

/* Fill resp; for HEAD too (the server sends the headers only, Content-Length included). 0, or
 * -errno to answer 500 without the body. */
typedef int (*http_handler_fn)(void *ctx, const struct http_request *req,
			       struct http_response *resp);

struct http_server;

/* Listen and register with loop. 0 or -errno (-EINVAL for a bad address, -EADDRINUSE,
 * -EACCES...), having logged one line saying why. */
int http__start(struct http_server **out, struct loop *loop, const struct http_opts *opts);
/* Serve path (exact match, starting with '/') with fn. 0, -EEXIST, -EINVAL or -ENOMEM. */
int http__route(struct http_server *srv, const char *path, http_handler_fn fn, void *ctx);
/* The port actually bound (the one chosen by the kernel for port 0). */
int http__port(const struct http_server *srv);
/* Close every connection and the listener, leave the loop, free everything. */
void http__stop(struct http_server *srv);

/* Parse "ADDR:PORT" (IPv4 literal) or "[ADDR]:PORT" (IPv6 literal, maybe with %scope); no name
 * lookups. 0 or -EINVAL. */
int http__parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif /* __HTTP_H */
