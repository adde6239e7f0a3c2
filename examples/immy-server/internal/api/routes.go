package api

import (
	"net/http"
)

// makeRoutes lists every route: the mux, the OpenAPI document and the
// access test are all made from this one table.
func (h *Handler) makeRoutes() []Route {
	rs := []Route{
		{Method: "GET", Path: "/healthz", Access: Public, Summary: "Liveness", Reply: "Status", Status: 200, handler: h.healthz},
		{Method: "GET", Path: "/readyz", Access: Public, Summary: "Readiness: serving and the database answers", Reply: "Status", Status: 200, handler: h.readyz},
		{Method: "GET", Path: "/metrics", Access: Public, Summary: "Prometheus metrics", Reply: "text", Status: 200, handler: h.metrics},
		{Method: "GET", Path: "/api/openapi.json", Access: Public, Summary: "This API's OpenAPI 3.1 document", Reply: "object", Status: 200, handler: h.openapi},
	}
	for _, k := range kinds {
		read, write := MSP, MSP
		if k.tenantRead {
			read = TenantScope
		}
		base := "/api/" + k.path
		rs = append(rs,
			Route{Method: "GET", Path: base, Access: read, Summary: "List " + k.path + " (?tenant= ?q= ?offset= ?limit=)", Reply: "List", Status: 200, handler: h.listEntities(k.kind)},
			Route{Method: "POST", Path: base, Access: write, Summary: "Create a " + string(k.kind), Body: "Put", Reply: "Envelope", Status: 201, handler: h.createEntity(k.kind)},
			Route{Method: "GET", Path: base + "/{id}", Access: read, Summary: "Get a " + string(k.kind) + " with the revision to update it against", Reply: "Envelope", Status: 200, handler: h.getEntity(k.kind)},
			Route{Method: "PUT", Path: base + "/{id}", Access: write, Summary: "Replace a " + string(k.kind) + " (409 if it changed after the revision given)", Body: "Put", Reply: "Envelope", Status: 200, handler: h.updateEntity(k.kind)},
			Route{Method: "DELETE", Path: base + "/{id}", Access: write, Summary: "Delete a " + string(k.kind) + " (?revision=)", Reply: "Deleted", Status: 200, handler: h.deleteEntity(k.kind)},
		)
	}
	rs = append(rs,
		Route{Method: "POST", Path: "/api/changes", Access: MSP, Summary: "Apply a change set, or with ?dry_run=true its what-if: the diff of every computer's plan", Body: "ChangeBody", Reply: "ChangeReply", Status: 200, handler: h.changes},
		Route{Method: "GET", Path: "/api/computers/{id}/plan", Access: TenantScope, Summary: "A computer's plan with each decision's losing candidates (?kind=full|onboarding, ?explain=ITEM)", Reply: "PlanReply", Status: 200, handler: h.computerPlan},
		Route{Method: "POST", Path: "/api/sessions", Access: TenantScope, Summary: "Start a computer's session (computer: full, detection-only, single-item or onboarding) or a tenant's cloud tasks' session (tenant: full or detection-only; a tenant-user its own tenant's only)", Body: "StartBody", Reply: "Report", Status: 201, handler: h.startSession},
		Route{Method: "GET", Path: "/api/sessions", Access: TenantScope, Summary: "List sessions, newest first (?computer= ?tenant= ?status=)", Reply: "SessionList", Status: 200, handler: h.listSessions},
		Route{Method: "GET", Path: "/api/sessions/{id}", Access: TenantScope, Summary: "A session's report, from the journal", Reply: "Report", Status: 200, handler: h.getSession},
		Route{Method: "POST", Path: "/api/sessions/{id}/cancel", Access: TenantScope, Summary: "Cancel a session", Reply: "Accepted", Status: 202, handler: h.cancelSession},
		Route{Method: "POST", Path: "/api/sessions/{id}/postpone", Access: TenantScope, Summary: "Postpone a session before it executes", Body: "PostponeBody", Reply: "Accepted", Status: 202, handler: h.postponeSession},
		Route{Method: "POST", Path: "/api/sessions/{id}/rerun", Access: TenantScope, Summary: "Run one action of a session again, in a new session", Body: "RerunBody", Reply: "Report", Status: 201, handler: h.rerunAction},
		Route{Method: "GET", Path: "/api/sessions/{id}/events", Access: TenantScope, Summary: "The session's journal as Server-Sent Events, resumable with Last-Event-ID", Reply: "event-stream", Status: 200, Fails: []int{http.StatusTooManyRequests}, handler: h.sessionEvents},
		Route{Method: "GET", Path: "/api/events", Access: TenantScope, Summary: "Every session's journal records as Server-Sent Events (?tenant=), resumable with Last-Event-ID", Reply: "event-stream", Status: 200, Fails: []int{http.StatusTooManyRequests}, handler: h.fleetEvents},
		Route{Method: "GET", Path: "/api/audit", Access: TenantScope, Summary: "The audit log of a tenant (?tenant=) or an entity (?kind=&id=), page by page (?after=)", Reply: "AuditList", Status: 200, handler: h.audit},
		Route{Method: "GET", Path: "/api/actions", Access: AdminOnly, Summary: "Every mutation made through the API, with its actor (?after=)", Reply: "ActionList", Status: 200, handler: h.actions},
		Route{Method: "GET", Path: "/api/agents", Access: TenantScope, Summary: "The engine's own agents seen by this process", Reply: "AgentList", Status: 200, handler: h.listAgents},
		Route{Method: "GET", Path: "/api/install-tokens", Access: MSP, Summary: "Install tokens (?tenant=)", Reply: "InstallTokenList", Status: 200, handler: h.listInstallTokens},
		Route{Method: "POST", Path: "/api/install-tokens", Access: MSP, Summary: "Make an install token for a tenant (shown once)", Body: "InstallTokenBody", Reply: "InstallTokenReply", Status: 201, handler: h.createInstallToken},
		Route{Method: "DELETE", Path: "/api/install-tokens/{id}", Access: MSP, Summary: "Revoke an install token", Reply: "Revoked", Status: 200, handler: h.revokeInstallToken},
		Route{Method: "GET", Path: "/api/tokens", Access: AdminOnly, Summary: "API tokens (never their secrets)", Reply: "TokenList", Status: 200, handler: h.listAPITokens},
		Route{Method: "POST", Path: "/api/tokens", Access: AdminOnly, Summary: "Make an API token (shown once)", Body: "APITokenBody", Reply: "TokenReply", Status: 201, handler: h.createAPIToken},
		Route{Method: "DELETE", Path: "/api/tokens/{id}", Access: AdminOnly, Summary: "Revoke an API token", Reply: "Revoked", Status: 200, handler: h.revokeAPIToken},
		Route{Method: "GET", Path: "/api/plugins", Access: MSP, Summary: "Plugin instances and their health (settings by name only)", Reply: "PluginList", Status: 200, handler: h.listPlugins},
		Route{Method: "POST", Path: "/api/plugins/{name}/restart", Access: AdminOnly, Summary: "Restart a plugin instance from its configuration (its checksum checked again)", Reply: "PluginInstance", Status: 200, Fails: []int{503}, handler: h.restartPlugin},
	)
	return rs
}

func (h *Handler) metrics(w http.ResponseWriter, r *http.Request) {
	h.cfg.Metrics.Handler().ServeHTTP(w, r)
}
