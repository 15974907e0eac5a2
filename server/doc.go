// Package server is the agent's HTTP side: the status API, the webhook receivers, bearer-token
// auth, Prometheus metrics and health endpoints. It owns HTTP only: what an App's state is, what
// a sync does and which Sources a push concerns belong to the agent, which the server reaches
// through the Agent interface it defines (the consumer owns the interface); payload signatures
// and parsing belong to package sources/webhook.
//
// # Routes
//
//	GET  /api/v1/apps                      viewer    {"apps": [AppStatus…]}, sorted by name, and
//	                                                 "configError" when a reload was refused
//	GET  /api/v1/apps/{app}                viewer    AppStatus; 404 for an unknown App
//	POST /api/v1/apps/{app}/sync           operator  202 SyncAccepted; query: cluster=C,
//	                                                 forceConflicts, confirmPrune, dryRun (a flag
//	                                                 alone means true; =true/=false also work);
//	                                                 400 for another parameter, 404 for an unknown
//	                                                 App or a cluster it does not select
//	GET  /api/v1/apps/{app}/rollout        viewer    200 where the App's rollout along its waves
//	                                                 stands (reconciler.RolloutStatus); 404
//	                                                 unknown App, 409 no waves or no rollout
//	POST /api/v1/apps/{app}/rollout/VERB   operator  VERB promote (skip the current wave's
//	                                                 bake), abort (stop where it is), resume
//	                                                 (go on after a halt or an abort); 200 the
//	                                                 status after it, recorded in the ledger
//	                                                 with the token; 409 when it does not apply
//	POST /api/v1/apps/{app}/rollback       operator  200 RollbackDone once every rollback is
//	                                                 over (health waited for), a result per
//	                                                 cluster; query: cluster=C (default: every
//	                                                 cluster the App selects), to=REV or steps=N
//	                                                 (exactly one), reason=TEXT; 400 naming a bad
//	                                                 parameter, 404 unknown App or cluster, 409
//	                                                 no applied revision matches on a cluster
//	                                                 (nothing rolled back), 503 no ledger
//	POST /api/v1/apps/{app}/unpin          operator  200 UnpinDone, the clusters unpinned (their
//	                                                 sync queued); query: cluster=C; 404 unknown
//	                                                 App or cluster, 409 not pinned
//	POST /api/v1/sources/{source}/refresh  operator  202 {"source": S}; 404 for an unknown Source
//	GET  /api/v1/history                   viewer    [history.Change…], newest first; query:
//	                                                 app, cluster, author (substring of the
//	                                                 commit's author or committer, or the actor),
//	                                                 revision (commit prefix), trigger, since and
//	                                                 until (RFC 3339, or a duration before now:
//	                                                 90m, 24h, 7d), limit (1 to 10000, default
//	                                                 100); 400 naming a bad or unknown parameter,
//	                                                 503 {"error": "no ledger"} without one
//	GET  /api/v1/history/{id}              viewer    history.Change; 404 when the ledger has none
//	POST /hooks/github|gitlab|gitea|generic  secret  202 {"sources": [S…]} once their fetch is
//	                                                 queued (empty when no Source follows the
//	                                                 push); 202 {"sources": [], "ignored": true}
//	                                                 for an event that is not a push (a ping);
//	                                                 401 bad signature, 400 malformed payload, 413
//	                                                 body over webhook.MaxBody, 404 for a provider
//	                                                 with no secret configured
//	GET  /metrics                          none      Prometheus metrics (Metrics); loopback
//	                                                 clients only unless Options.PublicMetrics
//	GET  /healthz                          none      200 while the server serves
//	GET  /readyz                           none      200 once every cluster has been listed
//	                                                 once (Agent.Ready), 503 before
//
// Every error is JSON, {"error": "…"}, with a message the server writes itself: never a token,
// a file path, an error's internals or a stack (those go to the log). Another method on a known
// path is 405 with Allow; any other path is 404.
//
// # Auth
//
// The API takes bearer tokens (`Authorization: Bearer TOKEN`), each with a role:
//
//   - viewer: GET /api/v1/… (read the fleet's state);
//   - operator: what viewer may, and POST /api/v1/… (sync, refresh, rollback, unpin,
//     rollout promote/abort/resume).
//
// A request without a token or with an unknown one gets 401 {"error": "unauthorized"}, the same
// either way; a viewer token on a POST gets 403 {"error": "forbidden"}. Tokens are compared in
// constant time (SHA-256 of the presented token against that of every known token). The
// webhook endpoints take no token: each provider is checked with its own secret
// (Options.WebhookSecrets) by sources/webhook. /healthz, /readyz and /metrics take no token:
// they say nothing about the fleet beyond counts and names, and /metrics answers loopback
// clients only unless Options.PublicMetrics is set.
//
// A token file (LoadTokens) holds one token per line, three fields separated by spaces or tabs:
//
//	# ROLE    NAME      TOKEN
//	viewer    grafana   3f9c0e…   (at least 16 characters, no spaces)
//	operator  ci        a41b77…
//
// Blank lines and lines starting with # are skipped; names and tokens must be unique. The file
// must be mode 0600 (no access for group or other), or it is refused.
//
// On first start the agent creates an operator token named "local" in its state folder
// (EnsureLocalToken: STATE/token, mode 0600, 32 random bytes as hex on one line) and reuses it on
// later starts; the local CLI reads that file to talk to the agent.
//
// # Listening
//
// The server listens on 127.0.0.1:7070 unless told otherwise, and refuses an address that is not
// loopback (another IP, a host name, or every interface) unless it has a TLS certificate and key
// or Options.AllowInsecureNonLoopback is set. Serve shuts down gracefully when its context ends.
package server
