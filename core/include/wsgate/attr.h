/*
 * wsgate — the user execution context's attributes, one row each.
 *
 * The single list of attributes: the ws_attr and ws_id_kind enums, the
 * attribute names, the CTX_ATTR_<ATTR> diagnosis rows, the id prefixes and
 * the order in which the context factory generates ids and auth_ok lists
 * them are all built from it.  Adding a generated id is one row in
 * WS_ID_ROWS_.
 *
 * Columns: (ATTR, NAME, KIND, PREFIX)
 *   ATTR    WS_ATTR_<ATTR>; its read failure is WS_DIAG_CTX_ATTR_<ATTR>
 *   NAME    the member name in JSON and in the outcome's trail ("thread_id")
 *   KIND    WS_ID_<KIND>, what the id generators are asked for
 *   PREFIX  the default primary generator's prefix: "<PREFIX>_<secs>_<hex>"
 *
 * WS_ATTR_LIST(X) calls X(ATTR, NAME, KIND, PREFIX) for every attribute:
 * user_id first (it comes from the token's sub and is never generated: its
 * KIND and PREFIX are placeholders), then the generated ids.
 * WS_ID_LIST(X) does the same for the generated ids only.
 */
#ifndef WSGATE_ATTR_H
#define WSGATE_ATTR_H

/* clang-format off */
#define WS_ID_ROWS_(R, X) \
  R(X, THREAD_ID,           "thread_id",           THREAD,           "thread") \
  R(X, WEBSOCKET_CLIENT_ID, "websocket_client_id", WEBSOCKET_CLIENT, "wsc") \
  R(X, RUN_ID,              "run_id",              RUN,              "run") \
  R(X, REQUEST_ID,          "request_id",          REQUEST,          "req")
#define WS_ATTR_ROWS_(R, X) \
  R(X, USER_ID,             "user_id",             USER,             "") \
  WS_ID_ROWS_(R, X)
/* clang-format on */

/* R(X, ...) -> X(...): lets a list be expanded inside another X-macro list
 * (diag.h expands the rows with its own R to make the CTX_ATTR_* rows). */
#define WS_ATTR_APPLY_(X, attr, name, kind, prefix) X(attr, name, kind, prefix)
#define WS_ATTR_LIST(X) WS_ATTR_ROWS_(WS_ATTR_APPLY_, X)
#define WS_ID_LIST(X) WS_ID_ROWS_(WS_ATTR_APPLY_, X)

#endif
