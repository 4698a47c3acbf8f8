/*
 * dash_nodes.c - node assignment and the admin endpoints
 *
 * Interface:
 *   POST /0.5/user_queue (Basic or bearer) -> {"queue_id","host","port"}:
 *       the user's node, assigned once (the live node with the most free
 *       capacity, Tokenserver's rule, decided by store_node_assign) and
 *       kept.
 *   GET|POST /v1/admin/users, GET|PATCH /v1/admin/users/<id|email>
 *       {status: active|revoked, admin: bool}
 *   GET|POST /v1/admin/nodes {host, port, capacity},
 *   PATCH /v1/admin/nodes/<id> {capacity, draining, downed}
 *       capacity is the node's weight; a draining node takes no new users;
 *       a downed one loses its users to other nodes at their next call.
 * Admin means the BIPostal-Server-Key header or an admin user.
 *
 * Failure: no live node answers 503 errno 201 (retry later).
 *
 * Ownership: lists from the store are freed here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash.h"
#include "log.h"
#include "util.h"

/* node_json - the public view of a node (new) */
static json_t *
node_json(const struct node *n)
{
	return (json_pack("{s:I,s:s,s:i,s:i,s:i,s:i,s:b,s:b}", "id",
	    (json_int_t)n->id, "host", n->host, "port", n->port, "capacity",
	    n->capacity, "load", n->load, "available", n->available,
	    "downed", n->downed, "draining", n->draining));
}

/* dash_h_legacy_user_queue - POST /0.5/user_queue */
void
dash_h_legacy_user_queue(struct req *r, const char *arg)
{
	struct node	 n;
	enum store_status s;

	if (dash_legacy_user(r) < 0)
		return;
	memset(&n, 0, sizeof(n));
	s = store_node_assign(r->db->st, r->user.id, &n);
	if (s == STORE_NOTFOUND) {
		dash_error(r, 503, DASH_E_STORE, "no queue node available");
		MHD_add_response_header(r->resp, "Retry-After", "60");
		return;
	}
	if (dash_store_status(r, s, "node") < 0)
		return;
	dash_reply_json(r, 200, json_pack("{s:s,s:s,s:i}", "queue_id",
	    r->user.queue_id, "host", n.host, "port", n.port));
}

/* dash_h_admin_users - GET (list) or POST (create) /v1/admin/users */
void
dash_h_admin_users(struct req *r, const char *arg)
{
	struct user	*u = NULL;
	size_t		 n = 0, i;
	json_t		*arr;

	if (strcmp(r->method, "POST") == 0) {
		dash_h_signup(r, arg);
		return;
	}
	if (dash_store_status(r, store_user_list(r->db->st, &u, &n),
	    "users") < 0)
		return;
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, dash_user_json(&u[i]));
	free(u);
	dash_reply_json(r, 200, json_pack("{s:o}", "users", arr));
}

/* find_user - by numeric id or by identity (email) */
static enum store_status
find_user(struct req *r, const char *key, struct user *u)
{
	char		*end;
	long long	 id = strtoll(key, &end, 10);

	if (*key != '\0' && *end == '\0')
		return (id > 0 ? store_user_get(r->db->st, id, u) :
		    STORE_NOTFOUND);
	return (store_user_by_identity(r->db->st, key, u));
}

/* dash_h_admin_user - GET or PATCH /v1/admin/users/<id|email> */
void
dash_h_admin_user(struct req *r, const char *key)
{
	struct user	 u;
	json_t		*b, *v;
	const char	*k, *s;

	if (dash_store_status(r, find_user(r, key, &u), "user") < 0)
		return;
	if (strcmp(r->method, "GET") == 0) {
		dash_reply_json(r, 200, dash_user_json(&u));
		return;
	}
	if ((b = dash_body_json(r)) == NULL)
		return;
	json_object_foreach(b, k, v) {
		if (strcmp(k, "status") == 0 && (s = json_string_value(v)) !=
		    NULL && (strcmp(s, "active") == 0 ||
		    strcmp(s, "revoked") == 0))
			u.status = s[0] == 'a' ? USER_ACTIVE : USER_REVOKED;
		else if (strcmp(k, "admin") == 0 && json_is_boolean(v))
			u.is_admin = json_is_true(v);
		else if (strcmp(k, "totp") == 0 && json_is_false(v))
			u.totp[0] = '\0';	/* reset a lost second factor */
		else {
			dash_error(r, 400, DASH_E_PARAM,
			    "status (active|revoked), admin (bool), totp (false)");
			json_decref(b);
			return;
		}
	}
	json_decref(b);
	if (dash_store_status(r, store_user_update(r->db->st, &u), "user") < 0)
		return;
	dash_reply_json(r, 200, dash_user_json(&u));
}

/* dash_h_admin_nodes - GET (list) or POST (add) /v1/admin/nodes */
void
dash_h_admin_nodes(struct req *r, const char *arg)
{
	struct node	*list = NULL;
	size_t		 n = 0, i;
	json_t		*arr, *b, *port, *cap;
	const char	*host;
	int64_t		 id;

	if (strcmp(r->method, "GET") == 0) {
		if (dash_store_status(r, store_node_list(r->db->st, &list, &n),
		    "nodes") < 0)
			return;
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, node_json(&list[i]));
		free(list);
		dash_reply_json(r, 200, json_pack("{s:o}", "nodes", arr));
		return;
	}
	if ((b = dash_body_json(r)) == NULL)
		return;
	host = json_string_value(json_object_get(b, "host"));
	port = json_object_get(b, "port");
	cap = json_object_get(b, "capacity");
	if (host == NULL || *host == '\0' || strlen(host) > HOST_MAX ||
	    !json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 65535 || !json_is_integer(cap) ||
	    json_integer_value(cap) < 0 || json_integer_value(cap) > 100000000) {
		dash_error(r, 400, DASH_E_PARAM,
		    "host, port (1-65535) and capacity (>= 0) are required");
		json_decref(b);
		return;
	}
	if (dash_store_status(r, store_node_add(r->db->st, host,
	    (int)json_integer_value(port), (int)json_integer_value(cap), &id),
	    "node") == 0)
		dash_reply_json(r, 201, json_pack("{s:I}", "id",
		    (json_int_t)id));
	json_decref(b);
}

/* dash_h_admin_node - PATCH /v1/admin/nodes/<id> */
void
dash_h_admin_node(struct req *r, const char *key)
{
	struct node	*list = NULL, nd;
	size_t		 n = 0, i;
	long long	 id;
	char		*end;
	json_t		*b, *v;
	const char	*k;
	int		 found = 0;

	id = strtoll(key, &end, 10);
	if (*end != '\0' || id <= 0) {
		dash_error(r, 404, DASH_E_NOTFOUND, "node not found");
		return;
	}
	if (dash_store_status(r, store_node_list(r->db->st, &list, &n),
	    "nodes") < 0)
		return;
	for (i = 0; i < n; i++)
		if (list[i].id == id) {
			nd = list[i];
			found = 1;
		}
	free(list);
	if (!found) {
		dash_error(r, 404, DASH_E_NOTFOUND, "node not found");
		return;
	}
	if ((b = dash_body_json(r)) == NULL)
		return;
	json_object_foreach(b, k, v) {
		if (strcmp(k, "capacity") == 0 && json_is_integer(v) &&
		    json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= 100000000)
			nd.capacity = (int)json_integer_value(v);
		else if (strcmp(k, "draining") == 0 && json_is_boolean(v))
			nd.draining = json_is_true(v);
		else if (strcmp(k, "downed") == 0 && json_is_boolean(v))
			nd.downed = json_is_true(v);
		else {
			dash_error(r, 400, DASH_E_PARAM,
			    "capacity (>= 0), draining (bool), downed (bool)");
			json_decref(b);
			return;
		}
	}
	json_decref(b);
	if (dash_store_status(r, store_node_update(r->db->st, &nd),
	    "node") < 0)
		return;
	dash_reply_json(r, 200, node_json(&nd));
}
