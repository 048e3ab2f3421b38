package ingress

// A plan is how one path (or default backend) of an Ingress is served: the
// typed actions that annotation families contribute, in the fixed phases
// of a request's handling. render turns a plan into Caddy handlers, in one
// place; no family writes Caddy JSON. A plan is comparable, so equal plans
// share their rendered routes: list values are held in canonical form
// (sorted, joined) by the family that parses them.
type plan struct {
	// trace, when on, makes a span of the whole request.
	trace tracePhase
	// logSkip leaves the requests out of the access log.
	logSkip  bool
	redirect redirectPhase
	access   accessPhase
	rewrite  rewritePhase
	headers  headersPhase
	limits   limitsPhase
	proxy    proxyPhase
}

// limitsPhase bounds what a request may use.
type limitsPhase struct {
	// bodySize is the largest request body in bytes; 0 is no limit.
	bodySize int64
	// rate, when it has a zone, limits each client address.
	rate rateLimit
	// sendRate is the bytes per second at which each response is sent
	// to the client, once sendRateAfter bytes of it have gone; 0 is no
	// limit.
	sendRate, sendRateAfter int64
}

// redirectPhase answers a request with a redirect instead of proxying it:
// a fixed one first, then HTTP to HTTPS.
type redirectPhase = Redirect

// accessPhase decides whether the request may reach the backend at all.
type accessPhase struct {
	// denied, when set, names the annotation (or other reason) for which
	// the path answers 503: its author asked for a protection that
	// cannot be given.
	denied string
	// allow and deny are client networks, comma-separated: a client in
	// deny, or outside a non-empty allow, gets 403.
	allow, deny string
	// basicAuth, when it names a Secret, asks for a user and password
	// (basic or digest).
	basicAuth basicAuth
	// satisfyAny lets a request through that passes one of the checks
	// rather than all.
	satisfyAny bool
	// extAuth, when it has a URL, asks an external service.
	extAuth externalAuth
	// ret, when it has a code, answers requests that pass the checks
	// (a snippet's return).
	ret snippetReturn
}

// rewritePhase changes the request before it is proxied.
type rewritePhase struct {
	// pattern (a regular expression matched case-insensitively from the
	// start of the path) and target (with $1…$9 for its groups) replace
	// the request's whole path; the query string is kept.
	pattern string
	target  string
	// forwardedPrefix, when set, is sent as X-Forwarded-Prefix (only with
	// a rewrite, as ingress-nginx does).
	forwardedPrefix string
}

// headersPhase sets headers on the request or the response.
type headersPhase struct {
	// hsts is the Strict-Transport-Security value of HTTPS responses.
	hsts string
	// upstreamHost replaces the Host header sent to the backend.
	upstreamHost string
	// redirectFrom/redirectTo rewrite the start of the backend's
	// Location and Refresh headers; cookieDomain and cookiePath rewrite
	// the Domain and Path of its Set-Cookie headers.
	redirectFrom, redirectTo         string
	cookieDomainFrom, cookieDomainTo string
	cookiePathFrom, cookiePathTo     string
	// cors, when on, answers preflights and sets CORS headers.
	cors corsPolicy
	// ops are literal header changes (snippets, custom-headers and the
	// app's header options).
	ops headerOps
}

// proxyPhase is where the request goes.
type proxyPhase struct {
	// upstream is the Service port proxied to, if resolved; otherwise
	// the request is answered 503.
	upstream UpstreamKey
	resolved bool
	// dial, when set, is the Service's cluster IP and port, dialled
	// instead of its endpoints (service-upstream).
	dial string
	// backend is the TLS and protocol settings of the connection.
	backend backendOptions
	// connection, when set, is the Connection header sent to the
	// backend: "close" or "keep-alive".
	connection string
	// fastcgi is how to speak FastCGI, with backend protocol FCGI.
	fastcgi fastcgiPlan
	// timeouts bound connecting to, writing to and reading from the
	// backend; zero leaves Caddy's default.
	timeouts timeouts
	// balance is the selection policy among endpoints: "round_robin"
	// or "least_conn".
	balance string
	// retry is when a failed request goes to the next endpoint.
	retry retryPolicy
	// fullForwardedFor keeps the X-Forwarded-For list of trusted
	// proxies (compute-full-forwarded-for).
	fullForwardedFor bool
	// affinity, when it has a Name, keeps sessions on one endpoint.
	affinity Affinity
	// hash, when it has a key, picks endpoints by a hash of it.
	hash hashConfig
	// canary, when it names an Ingress, sends some requests elsewhere.
	canary canaryPlan
	// fallback, when its upstream is set, is the Service that serves the
	// request when upstream has no ready endpoints (default-backend).
	fallback errorBackend
	// errors, when it has codes, sends responses with these statuses to
	// its backend (custom-http-errors).
	errors errorPages
	// mirror, when it has a URL, sends a copy of the request there.
	mirror mirrorConfig
}

// errorBackend is a Service that serves requests on behalf of another
// backend, told why in X-Code and the other headers ingress-nginx sends.
type errorBackend struct {
	upstream UpstreamKey
	// ingress, service and port describe the backend it stands in for.
	namespace, ingress, service, port string
}

// errorPages intercepts backend responses with one of the codes.
type errorPages struct {
	// codes are the statuses, sorted and comma-separated.
	codes   string
	backend errorBackend
}

// timeouts are proxy timeouts, in seconds as ingress-nginx gives them; 0
// is Caddy's default (3 s to connect, no limit to write or read).
type timeouts struct {
	connect, send, read int
}
