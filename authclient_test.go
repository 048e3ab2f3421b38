package caddyingress

import (
	"strings"
	"testing"
)

func TestProvisionAuth(t *testing.T) {
	for _, tt := range []struct {
		name string
		app  *App
		want string // "" for no error
	}{
		{name: "nothing set", app: &App{}},
		{name: "global auth", app: &App{GlobalAuth: &GlobalAuth{URL: "https://auth.example.com/check", Method: "POST"}}},
		{name: "global auth without a URL", app: &App{GlobalAuth: &GlobalAuth{Method: "POST"}}, want: "global_auth: url is required"},
		{name: "global auth with a bad URL", app: &App{GlobalAuth: &GlobalAuth{URL: "ftp://auth"}}, want: "global_auth: url: invalid URL"},
		{name: "global auth with a bad method", app: &App{GlobalAuth: &GlobalAuth{URL: "https://auth", Method: "FETCH"}}, want: "global_auth: method: invalid value"},
		{name: "a bad network", app: &App{AuthAllowNetworks: []string{"127.0.0.1/40"}}, want: "auth_allow_networks"},
		{name: "unsupported_snippets", app: &App{UnsupportedSnippets: "ignore"}, want: `unsupported_snippets "ignore": want deny or drop`},
		{name: "a bad ConfigMap reference", app: &App{AddHeaders: "headers"}, want: `add_headers: configmap "headers": want namespace/name`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.app.provisionAuth()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	a := &App{GlobalAuth: &GlobalAuth{URL: "https://auth"}}
	if err := a.provisionAuth(); err != nil || len(a.GlobalAuth.NoAuthLocations) != 1 || a.GlobalAuth.NoAuthLocations[0] != "/.well-known/acme-challenge" {
		t.Errorf("no_auth_locations: got %v, %v; want the ACME challenge path by default", a.GlobalAuth.NoAuthLocations, err)
	}
}
