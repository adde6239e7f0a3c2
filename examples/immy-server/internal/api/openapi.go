package api

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The OpenAPI 3.1 document is made from the route table, so that it names
// exactly the routes the server answers; its schemas are the shapes this
// package writes (entities are the fleet store's JSON form, objects here).

func obj(props map[string]any, required ...string) map[string]any {
	m := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		m["required"] = required
	}
	return m
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func arr(items map[string]any) map[string]any { return map[string]any{"type": "array", "items": items} }

var (
	tStr  = map[string]any{"type": "string"}
	tInt  = map[string]any{"type": "integer"}
	tBool = map[string]any{"type": "boolean"}
	tObj  = map[string]any{"type": "object"}
	tTime = map[string]any{"type": "string", "format": "date-time"}
)

func schemas() map[string]any {
	items := func(of map[string]any) map[string]any { return obj(map[string]any{"items": arr(of)}, "items") }
	return map[string]any{
		"Error": obj(map[string]any{"code": tStr, "message": tStr,
			"fields": arr(obj(map[string]any{"field": tStr, "id": tStr, "section": tStr, "message": tStr}, "field", "message"))}, "code", "message"),
		"Status":            obj(map[string]any{"status": tStr, "revision": tInt}, "status"),
		"Envelope":          obj(map[string]any{"revision": tInt, "data": tObj, "inventory": tObj}, "revision", "data"),
		"List":              obj(map[string]any{"revision": tInt, "total": tInt, "offset": tInt, "limit": tInt, "items": arr(ref("Envelope"))}, "revision", "total", "items"),
		"Put":               obj(map[string]any{"revision": tInt, "data": tObj}, "data"),
		"Deleted":           obj(map[string]any{"revision": tInt, "deleted": tStr}, "revision", "deleted"),
		"ChangeBody":        obj(map[string]any{"revision": tInt, "ops": arr(obj(map[string]any{"op": map[string]any{"enum": []string{"put", "delete"}}, "kind": tStr, "id": tStr, "data": tObj}, "op", "kind"))}, "revision", "ops"),
		"ChangeReply":       obj(map[string]any{"dry_run": tBool, "revision": tInt, "diff": tObj}, "dry_run", "revision"),
		"PlanReply":         obj(map[string]any{"revision": tInt, "plan": tObj, "explanation": tObj}, "revision", "plan"),
		"StartBody":         startBody(),
		"Report":            obj(map[string]any{"id": tStr, "computer": tStr, "status": tStr, "stage": tStr, "actions": arr(tObj), "created": tTime}, "id", "computer", "status"),
		"SessionList":       obj(map[string]any{"offset": tInt, "limit": tInt, "items": arr(obj(map[string]any{"id": tStr, "computer": tStr, "status": tStr, "created": tStr, "updated": tStr}))}, "items"),
		"Accepted":          obj(map[string]any{"session": tStr}, "session"),
		"PostponeBody":      obj(map[string]any{"until": tTime}),
		"RerunBody":         obj(map[string]any{"action": tInt}, "action"),
		"AuditList":         items(tObj),
		"ActionList":        items(obj(map[string]any{"seq": tInt, "at": tTime, "actor": tStr, "method": tStr, "path": tStr, "status": tInt})),
		"AgentList":         items(obj(map[string]any{"id": tStr, "tenant": tStr, "online": tBool})),
		"InstallTokenList":  items(obj(map[string]any{"id": tStr, "tenant": tStr, "uses": tInt})),
		"InstallTokenBody":  obj(map[string]any{"tenant": tStr, "expires": tTime, "never": tBool, "max_uses": tInt}, "tenant"),
		"InstallTokenReply": obj(map[string]any{"token": tStr, "info": tObj, "command": tStr}, "token", "info", "command"),
		"Revoked":           obj(map[string]any{"revoked": tStr}, "revoked"),
		"TokenList":         items(obj(map[string]any{"id": tStr, "name": tStr, "role": tStr, "tenant": tStr})),
		"APITokenBody":      obj(map[string]any{"name": tStr, "role": map[string]any{"enum": []string{"msp-admin", "msp-technician", "tenant-user"}}, "tenant": tStr, "expires": tTime}, "name", "role"),
		"TokenReply":        obj(map[string]any{"token": tStr, "info": tObj}, "token", "info"),
		"PluginList":        items(ref("PluginInstance")),
		"PluginInstance": obj(map[string]any{"id": tStr, "path": tStr, "sha256": tStr, "name": tStr, "version": tStr,
			"state": tStr, "restarts": tInt, "healthy": tBool, "health_message": tStr, "checked_at": tTime,
			"error": tStr, "agents": tInt, "settings": arr(tStr)}, "id", "path", "state", "restarts", "healthy", "agents"),
	}
}

// startBody is a computer's session (computer) or a tenant's (tenant,
// full or detection-only, nothing else), one of the two.
func startBody() map[string]any {
	m := obj(map[string]any{"computer": tStr, "tenant": tStr, "kind": map[string]any{"enum": []string{"full", "detection-only", "single-item", "onboarding"}},
		"item": tStr, "offline": map[string]any{"enum": []string{"wait", "skip"}}, "reboot": map[string]any{"enum": []string{"normal", "suppress", "prompt", "force"}}})
	m["oneOf"] = []any{
		map[string]any{"required": []string{"computer"}, "not": map[string]any{"required": []string{"tenant"}}},
		map[string]any{"required": []string{"tenant"}, "not": map[string]any{"anyOf": []any{
			map[string]any{"required": []string{"computer"}}, map[string]any{"required": []string{"item"}},
			map[string]any{"required": []string{"offline"}}, map[string]any{"required": []string{"reboot"}},
		}}, "properties": map[string]any{"kind": map[string]any{"enum": []string{"full", "detection-only"}}}},
	}
	return m
}

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// OpenAPI returns the document.
func (h *Handler) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range h.routes {
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": tStr})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Access != Public {
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			op["x-access"] = accessName(rt.Access)
		}
		if rt.Body != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(rt.Body)}}}
		}
		var content map[string]any
		switch rt.Reply {
		case "text":
			content = map[string]any{"text/plain": map[string]any{"schema": tStr}}
		case "event-stream":
			content = map[string]any{"text/event-stream": map[string]any{"schema": tStr}}
		case "object":
			content = map[string]any{"application/json": map[string]any{"schema": tObj}}
		default:
			content = map[string]any{"application/json": map[string]any{"schema": ref(rt.Reply)}}
		}
		errResp := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
		resps := map[string]any{strconv.Itoa(rt.Status): map[string]any{"description": "success", "content": content}}
		if rt.Access != Public {
			resps["401"] = errResp
			resps["404"] = errResp
		}
		if rt.Access == AdminOnly {
			resps["403"] = errResp
		}
		if rt.Body != "" {
			resps["413"] = errResp // decode's limit on the body
		}
		if rt.Body != "" || rt.Method == "PUT" || rt.Method == "DELETE" {
			resps["409"] = errResp
			resps["422"] = errResp
		}
		if rt.Method == "GET" && rt.Access != Public {
			resps["422"] = errResp
		}
		for _, code := range rt.Fails {
			resps[strconv.Itoa(code)] = errResp
		}
		op["responses"] = resps
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "immy-server API", "version": "1",
			"description": "The example MSP engine server. Every error is an Error; a tenant-user token gets 404 for what is not its tenant's."},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas(), "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
}

func accessName(a Access) string {
	return [...]string{"public", "tenant", "msp", "admin"}[a]
}

func operationID(rt Route) string {
	parts := []string{strings.ToLower(rt.Method)}
	for _, p := range strings.Split(strings.Trim(rt.Path, "/"), "/") {
		if p == "api" {
			continue
		}
		p = strings.NewReplacer("{", "by-", "}", "", ".", "-").Replace(p)
		parts = append(parts, p)
	}
	return strings.Join(parts, "-")
}

func (h *Handler) openapi(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.OpenAPI())
}

// PathsSorted lists the document's paths, sorted (tests).
func PathsSorted(doc map[string]any) []string {
	var out []string
	for p := range doc["paths"].(map[string]map[string]any) {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
