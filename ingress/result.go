package ingress

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"time"

	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// Result is what translation produces. Its JSON form (without keys) is what
// `caddy ingress render` prints.
type Result struct {
	// Hosts are sorted by name; the host "" matches requests whose host no
	// other entry matches.
	Hosts HostList `json:"hosts"`
	// Default serves requests that match no path and no host default: the
	// default backend of an Ingress without rules, else the configured one.
	Default *Action `json:"default,omitempty"`
	// Certificates are sorted by Secret.
	Certificates []Certificate `json:"certificates"`
	// DefaultCertificate, from the Secret named by the app's
	// default_certificate, is served for unknown server names and for TLS
	// hosts without a usable certificate. Nil: a self-signed one is.
	DefaultCertificate *Certificate `json:"default_certificate,omitempty"`
	// Managed are the TLS hosts whose certificates Caddy's own automation
	// (ACME, or the internal issuer) obtains and renews, sorted.
	Managed []string `json:"managed,omitempty"`
	// BackendSecrets are the trust anchors and client certificates of TLS
	// connections to backends, sorted by Secret. Routes name them by
	// Secret, so that a rotation needs no new routes.
	BackendSecrets []BackendSecret `json:"backend_secrets,omitempty"`
	// AuthSecrets are the users of auth-secret Secrets, sorted by
	// Secret; routes name them, so a change of users needs no new routes.
	AuthSecrets []AuthSecret `json:"auth_secrets,omitempty"`
	// CanaryWeights are the weights of the canary Ingresses, sorted by
	// Ingress; the canary matchers read them at request time.
	CanaryWeights []CanaryWeight `json:"canary_weights,omitempty"`
	// Problems are sorted by object; each object's in the order its
	// fields were read.
	Problems []Problem `json:"-"`
	// Ingresses are the Ingresses of our class, sorted by
	// namespace/name: the ones whose status this controller owns.
	Ingresses []ObjectRef `json:"-"`
	// NextChange is the earliest moment after Options.Now at which the
	// same snapshot translates differently, because a certificate or a
	// revocation list it reads becomes valid or expires then; zero when
	// nothing does. Translate again at that moment.
	NextChange time.Time `json:"-"`
}

// Host holds the rules for one host: an exact name such as
// "foo.example.com", a one-label wildcard such as "*.example.com", or ""
// for rules without a host.
type Host struct {
	Host string `json:"host"`
	// TLS is true when an Ingress lists this host under spec.tls.
	TLS bool `json:"tls,omitempty"`
	// ClientAuth, when set, makes HTTPS clients of this host present a
	// certificate (mutual TLS).
	ClientAuth *ClientAuth `json:"client_auth,omitempty"`
	Paths      []Path      `json:"paths,omitempty"`
	// Default serves this host's requests that match no path: the
	// spec.defaultBackend of an Ingress that has rules for the host.
	Default *Action `json:"default,omitempty"`
	// Redirect, set when there is no Default, is what the oldest Ingress
	// with rules for the host redirects; it applies to requests that match
	// no path too, as ingress-nginx's default location of a host inherits
	// it. Requests it does not redirect go on to the catch-all.
	Redirect *Redirect `json:"redirect,omitempty"`
	// AppRoot, when set, redirects requests for exactly "/" (302) to this
	// path, before any path is matched (app-root).
	AppRoot string `json:"app_root,omitempty"`
	// Aliases are other names that the host's rules serve (server-alias),
	// sorted.
	Aliases []string `json:"aliases,omitempty"`
}

// Redirect is how requests are redirected instead of proxied; the first
// that applies wins: Host, To, then HTTPS. A zero Redirect redirects
// nothing.
type Redirect struct {
	// Host, when set, redirects every request to this host with 308,
	// keeping scheme and port and the URI less one trailing slash
	// (from-to-www-redirect).
	Host string `json:"host,omitempty"`
	// To, when set, redirects every request to this URL with Code; a URL
	// that is only a path gets the request's scheme and host unless
	// Relative.
	To       string `json:"to,omitempty"`
	Code     int    `json:"code,omitempty"`
	Relative bool   `json:"relative,omitempty"`
	// HTTPS redirects plain-HTTP requests to HTTPS with 308, on port
	// HTTPSPort (443 when zero, and then left out of the Location), with
	// one trailing slash dropped from the URI unless
	// PreserveTrailingSlash. Requests under /.well-known/acme-challenge/
	// are not redirected, and requests that a trusted proxy says came
	// over HTTPS (X-Forwarded-Proto) count as HTTPS.
	HTTPS                 bool `json:"https,omitempty"`
	HTTPSPort             int  `json:"https_port,omitempty"`
	PreserveTrailingSlash bool `json:"preserve_trailing_slash,omitempty"`
}

// Any reports whether r redirects anything.
func (r *Redirect) Any() bool { return r.Host != "" || r.To != "" || r.HTTPS }

// PathType is how a Path matches: "Exact" or "Prefix"; Ingress paths of
// type ImplementationSpecific match as Prefix. On a host where any path
// asks for regular expressions (use-regex, rewrite-target), every path is
// of type "Regex": a regular expression matched case-insensitively from
// the start of the request's path, longest path first.
type PathType string

const (
	PathExact  PathType = "Exact"
	PathPrefix PathType = "Prefix"
	PathRegex  PathType = "Regex"
)

// Path is one path rule of a host. Prefix paths are stored without their
// trailing slash ("/" stays "/"): "/foo" and "/foo/" match the same
// requests. Regex paths are as the Ingress gives them.
type Path struct {
	Path string   `json:"path"`
	Type PathType `json:"type"`
	Action
}

// Action is what serves a request: Caddy routes (a caddyhttp.RouteList in
// JSON) built from one Ingress backend and the Ingress's annotations.
type Action struct {
	// Ingress is the namespace/name of the Ingress the action comes from;
	// empty for the configured default backend.
	Ingress string          `json:"ingress,omitempty"`
	Routes  json.RawMessage `json:"routes"`

	// Host, IngressPath and Backend say where the action comes from, for
	// metrics and the status endpoint; the routes hold all that serves.
	// Host is the rule's host ("" for rules without host and for the
	// catch-all); IngressPath the path as the Ingress writes it ("/" for
	// an empty one; "" for default backends); Backend the Service port
	// the Ingress names (Name "" when it names none).
	Host        string     `json:"-"`
	IngressPath string     `json:"-"`
	Backend     ServiceRef `json:"-"`
}

// Certificate is a key pair from a Secret to serve for some TLS server names.
type Certificate struct {
	// Secret is the namespace/name of the kubernetes.io/tls Secret.
	Secret string `json:"secret"`
	// Names are the server names (SNI) to serve it for, sorted.
	Names []string `json:"names"`
	// SHA256 is the hex SHA-256 fingerprint of the leaf certificate.
	SHA256 string `json:"sha256"`
	// KeyPair holds the certificate chain and private key; never rendered.
	KeyPair *tls.Certificate `json:"-"`
}

// ClientVerify is how client certificates are checked, with the values of
// ingress-nginx's auth-tls-verify-client.
type ClientVerify string

const (
	// ClientVerifyOn requires a certificate signed by the CA.
	ClientVerifyOn ClientVerify = "on"
	// ClientVerifyOptional accepts requests without a certificate; one
	// that is presented must be signed by the CA.
	ClientVerifyOptional ClientVerify = "optional"
	// ClientVerifyOptionalNoCA accepts any certificate or none, and
	// passes it on unverified.
	ClientVerifyOptionalNoCA ClientVerify = "optional_no_ca"
)

// ClientAuth is the client certificate check of one host.
type ClientAuth struct {
	// Ingress is the namespace/name of the Ingress that asks for it.
	Ingress string `json:"ingress"`
	// Secret is the namespace/name of the Secret whose ca.crt holds the
	// trusted CAs.
	Secret string       `json:"secret"`
	Verify ClientVerify `json:"verify"`
	// Depth is the greatest number of intermediate CA certificates
	// between the client's certificate and the CA it chains to, as
	// OpenSSL counts them (auth-tls-verify-depth; default 1).
	Depth int `json:"depth"`
	// PassCertificate sends the client certificate (PEM, URL-escaped) to
	// the backend in the ssl-client-cert header.
	PassCertificate bool `json:"pass_certificate,omitempty"`
	// MatchCN, when set, is a regular expression (RE2) that the subject
	// DN of the client certificate (as "CN=…,O=…") must match, else 403.
	MatchCN string `json:"match_cn,omitempty"`
	// ErrorPage, when set, is the URL (http or https, checked) that a
	// client is redirected to (302) when its certificate is required and
	// missing, or does not verify, instead of getting 400
	// (auth-tls-error-page).
	ErrorPage string `json:"error_page,omitempty"`
	// SHA256 is the hex SHA-256 of the CA bundle.
	SHA256 string `json:"sha256"`
	// CAs are the trusted CAs; never rendered.
	CAs *x509.CertPool `json:"-"`
	// Revoked are the certificates revoked by the CRLs in the Secret's
	// ca.crl; nil without one.
	Revoked *secrets.Revocations `json:"-"`
}

// BackendSecret is what a Secret named by proxy-ssl-secret holds.
type BackendSecret struct {
	// Secret is the namespace/name of the Secret.
	Secret string `json:"secret"`
	// SHA256 is the hex SHA-256 of its ca.crt and tls.crt.
	SHA256 string `json:"sha256"`
	// CAs are the CAs trusted for backend certificates (ca.crt); nil
	// when the Secret has none.
	CAs *x509.CertPool `json:"-"`
	// Revoked are the certificates revoked by the CRLs in ca.crl; nil
	// without one.
	Revoked *secrets.Revocations `json:"-"`
	// ClientCert is the certificate presented to backends (tls.crt and
	// tls.key); nil when the Secret has none.
	ClientCert *tls.Certificate `json:"-"`
}
