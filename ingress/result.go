package ingress

import (
	"crypto/tls"
	"encoding/json"
)

// Result is what translation produces. Its JSON form (without keys) is what
// `caddy ingress render` prints.
type Result struct {
	// Hosts are sorted by name; the host "" matches requests whose host no
	// other entry matches.
	Hosts []Host `json:"hosts"`
	// Default serves requests that match no path and no host default: the
	// default backend of an Ingress without rules, else the configured one.
	Default *Action `json:"default,omitempty"`
	// Certificates are sorted by Secret.
	Certificates []Certificate `json:"certificates"`
	// Problems are sorted by object; each object's in the order its
	// fields were read.
	Problems []Problem `json:"-"`
	// Ingresses are the Ingresses of our class, sorted by
	// namespace/name: the ones whose status this controller owns.
	Ingresses []ObjectRef `json:"-"`
}

// Host holds the rules for one host: an exact name such as
// "foo.example.com", a one-label wildcard such as "*.example.com", or ""
// for rules without a host.
type Host struct {
	Host string `json:"host"`
	// TLS is true when an Ingress lists this host under spec.tls.
	TLS   bool   `json:"tls,omitempty"`
	Paths []Path `json:"paths,omitempty"`
	// Default serves this host's requests that match no path: the
	// spec.defaultBackend of an Ingress that has rules for the host.
	Default *Action `json:"default,omitempty"`
	// Redirect, set when there is no Default and an Ingress redirects the
	// host to HTTPS, serves its plain-HTTP requests that match no path (a
	// redirect to HTTPS, as ingress-nginx does); HTTPS requests that match
	// no path go on to the catch-all.
	Redirect *Action `json:"redirect,omitempty"`
}

// PathType is how a Path matches: "Exact" or "Prefix". Ingress paths of type
// ImplementationSpecific match as Prefix.
type PathType string

const (
	PathExact  PathType = "Exact"
	PathPrefix PathType = "Prefix"
)

// Path is one path rule of a host. Prefix paths are stored without their
// trailing slash ("/" stays "/"): "/foo" and "/foo/" match the same requests.
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
