package integration

import (
	"net/http"
	"testing"
)

// backendChecks sends requests to the Ingresses of a test, each served
// on <ingress>.<domain> by Caddy c, and checks what their backends saw.
type backendChecks struct {
	c      *caddyProcess
	cl     *client
	domain string
}

// get sends GET / to the Ingress's host.
func (b backendChecks) get(t *testing.T, ingress string) *response {
	t.Helper()
	r, err := b.cl.get(httpURL(b.c, ingress+"."+b.domain, "/"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// expectOK checks that the Ingress answers with be's name, and returns
// the request be saw.
func (b backendChecks) expectOK(t *testing.T, ingress string, be *recordingBackend) seenRequest {
	t.Helper()
	if r := b.get(t, ingress); r.status != http.StatusOK || r.body != be.name {
		t.Fatalf("got %d %q, want %d %q", r.status, r.body, http.StatusOK, be.name)
	}
	return be.takeOne(t)
}

// expectBadGateway checks a 502 that be never saw and the error Caddy
// logs for it, which names the Ingress and says why (reason).
func (b backendChecks) expectBadGateway(t *testing.T, ingress string, be *recordingBackend, reason string) {
	t.Helper()
	if r := b.get(t, ingress); r.status != http.StatusBadGateway {
		t.Errorf("got %d %q, want %d", r.status, r.body, http.StatusBadGateway)
	}
	be.expectNone(t)
	e := b.c.waitForLog(t, "error naming Ingress default/"+ingress, func(e logEntry) bool {
		return e.str("level") == "error" && logMentions("(Ingress default/"+ingress+")")(e)
	})
	if !logMentions(reason)(e) {
		t.Errorf("error logged: got %q, want it to mention %q", e.str("msg"), reason)
	}
}
