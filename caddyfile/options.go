// Package caddyfile adds Caddyfile support for caddy-ingress: the ingress
// global option, which configures the ingress app, and the ingress
// directive, which serves a site from the app's route table and
// certificates.
//
// It builds the JSON of the modules itself instead of importing the root
// package, which blank-imports this one so that building Caddy with
// caddy-ingress brings Caddyfile support along.
package caddyfile

import (
	"encoding/json"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("ingress", parseOption)
	httpcaddyfile.RegisterDirective("ingress", parseDirective)
	httpcaddyfile.RegisterDirectiveOrder("ingress", httpcaddyfile.Before, "reverse_proxy")
}

// ingressApp is the JSON of the ingress app.
type ingressApp struct {
	Source         any    `json:"source,omitempty"`
	IngressClass   string `json:"ingress_class,omitempty"`
	Controller     string `json:"controller,omitempty"`
	DefaultBackend string `json:"default_backend,omitempty"`
}

// manifestsSource is the JSON of the ingress.sources.manifests module.
type manifestsSource struct {
	Source       string         `json:"source"`
	Dir          string         `json:"dir,omitempty"`
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`
}

// sourceParsers parses the sources of the ingress option by subdirective
// name. Each returns the source's JSON value, including its "source" key.
// Exactly one source is required.
var sourceParsers = map[string]func(d *caddyfile.Dispenser) (any, error){
	"manifests": parseManifests,
}

// parseOption parses the ingress global option. Syntax:
//
//	ingress {
//		manifests <dir> {
//			poll_interval <duration>
//		}
//		ingress_class <name>
//		controller <name>
//		default_backend <namespace/name:port>
//	}
//
// Exactly one source (manifests) is required; the other subdirectives are
// optional and default in the app. default_backend is checked by the app.
func parseOption(d *caddyfile.Dispenser, existing any) (any, error) {
	d.Next() // consume option name
	if existing != nil {
		return nil, d.Err("ingress option specified more than once")
	}
	if d.NextArg() {
		return nil, d.ArgErr()
	}

	var app ingressApp
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		name := d.Val()
		parseSource, isSource := sourceParsers[name]
		if seen[name] {
			return nil, d.Errf("duplicate ingress option '%s'", name)
		}
		if isSource && app.Source != nil {
			return nil, d.Errf("ingress source '%s': only one source is allowed", name)
		}
		seen[name] = true

		var err error
		switch {
		case isSource:
			app.Source, err = parseSource(d)
		case name == "ingress_class":
			app.IngressClass, err = singleArg(d)
		case name == "controller":
			app.Controller, err = singleArg(d)
		case name == "default_backend":
			app.DefaultBackend, err = singleArg(d)
		default:
			return nil, d.Errf("unrecognized ingress option '%s'", name)
		}
		if err != nil {
			return nil, err
		}
	}
	if app.Source == nil {
		return nil, d.Err("ingress option needs a source: manifests <dir>")
	}

	raw, err := json.Marshal(app)
	if err != nil {
		return nil, fmt.Errorf("encoding ingress app: %w", err)
	}
	return httpcaddyfile.App{Name: "ingress", Value: raw}, nil
}

// parseManifests parses the manifests source of the ingress option, with
// the dispenser on its name. Syntax:
//
//	manifests <dir> {
//		poll_interval <duration>
//	}
func parseManifests(d *caddyfile.Dispenser) (any, error) {
	src := manifestsSource{Source: "manifests"}
	if !d.NextArg() {
		return nil, d.ArgErr()
	}
	src.Dir = d.Val()
	if d.NextArg() {
		return nil, d.ArgErr()
	}

	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return nil, d.Errf("duplicate manifests option '%s'", name)
		}
		seen[name] = true

		switch name {
		case "poll_interval":
			val, err := singleArg(d)
			if err != nil {
				return nil, err
			}
			dur, err := caddy.ParseDuration(val)
			if err != nil {
				return nil, d.Errf("parsing poll_interval '%s': %v", val, err)
			}
			if dur <= 0 {
				return nil, d.Errf("poll_interval '%s' must be positive", val)
			}
			src.PollInterval = caddy.Duration(dur)
		default:
			return nil, d.Errf("unrecognized manifests option '%s'", name)
		}
	}
	return src, nil
}

// singleArg returns the one argument of the subdirective the dispenser is
// on, which takes no block.
func singleArg(d *caddyfile.Dispenser) (string, error) {
	name := d.Val()
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	val := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	if d.NextBlock(d.Nesting()) {
		return "", d.Errf("'%s' takes no block", name)
	}
	return val, nil
}
