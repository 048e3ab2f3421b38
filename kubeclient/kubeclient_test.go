package kubeclient

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
)

// apiServer answers every GET with an empty list of the kind the path
// names, and every POST with the object it got, in JSON; it records the
// requests and the content types of their bodies.
type apiServer struct {
	mu           sync.Mutex
	requests     []string
	contentTypes []string
}

func (a *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	a.contentTypes = append(a.contentTypes, r.Header.Get("Content-Type"))
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		obj, _, err := Codecs.UniversalDeserializer().Decode(body, nil, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(obj)
		return
	}
	parts := strings.Split(r.URL.Path, "/")
	kinds := map[string]string{
		"services": "ServiceList", "secrets": "SecretList", "configmaps": "ConfigMapList", "events": "EventList",
		"ingresses": "IngressList", "ingressclasses": "IngressClassList", "endpointslices": "EndpointSliceList", "leases": "LeaseList",
	}
	resource := parts[len(parts)-1]
	version := "v1"
	if parts[1] == "apis" {
		version = parts[2] + "/" + parts[3]
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": kinds[resource], "apiVersion": version, "metadata": map[string]any{"resourceVersion": "7"}, "items": []any{}})
}

func TestClientsetPaths(t *testing.T) {
	api := new(apiServer)
	srv := httptest.NewServer(api)
	defer srv.Close()
	cs, err := New(&rest.Config{Host: srv.URL, QPS: 20, Burst: 40})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	ctx := context.Background()
	opts := metav1.ListOptions{FieldSelector: "metadata.name=x"}
	lists := []struct {
		name string
		list func() (runtime.Object, error)
		want string
	}{
		{"services", func() (runtime.Object, error) { return cs.Services("a").List(ctx, opts) }, "GET /api/v1/namespaces/a/services?fieldSelector=metadata.name%3Dx"},
		{"secrets", func() (runtime.Object, error) { return cs.Secrets("").List(ctx, opts) }, "GET /api/v1/secrets?fieldSelector=metadata.name%3Dx"},
		{"configmaps", func() (runtime.Object, error) { return cs.ConfigMaps("a").List(ctx, opts) }, "GET /api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dx"},
		{"events", func() (runtime.Object, error) { return cs.Events("a").List(ctx, opts) }, "GET /api/v1/namespaces/a/events?fieldSelector=metadata.name%3Dx"},
		{"ingresses", func() (runtime.Object, error) { return cs.Ingresses("a").List(ctx, opts) }, "GET /apis/networking.k8s.io/v1/namespaces/a/ingresses?fieldSelector=metadata.name%3Dx"},
		{"ingressclasses", func() (runtime.Object, error) { return cs.IngressClasses().List(ctx, opts) }, "GET /apis/networking.k8s.io/v1/ingressclasses?fieldSelector=metadata.name%3Dx"},
		{"endpointslices", func() (runtime.Object, error) { return cs.EndpointSlices("").List(ctx, opts) }, "GET /apis/discovery.k8s.io/v1/endpointslices?fieldSelector=metadata.name%3Dx"},
		{"leases", func() (runtime.Object, error) { return cs.Leases("a").List(ctx, opts) }, "GET /apis/coordination.k8s.io/v1/namespaces/a/leases?fieldSelector=metadata.name%3Dx"},
	}
	for i, tt := range lists {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := tt.list()
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := obj.(metav1.ListInterface).GetResourceVersion(); got != "7" {
				t.Errorf("got list resourceVersion %q, want the server's \"7\"", got)
			}
			if got := api.requests[i]; got != tt.want {
				t.Errorf("got request %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEventSinkWritesInTheEventsNamespace(t *testing.T) {
	api := new(apiServer)
	srv := httptest.NewServer(api)
	defer srv.Close()
	cs, err := New(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web.1"}, Reason: "Problem"}
	got, err := EventSink{Client: cs}.Create(ev)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got.Reason != "Problem" || got.Namespace != "shop" {
		t.Errorf("got event %s/%s %q back, want shop/web.1 \"Problem\"", got.Namespace, got.Name, got.Reason)
	}
	if want := "POST /api/v1/namespaces/shop/events?"; api.requests[0] != want {
		t.Errorf("got request %q, want %q", api.requests[0], want)
	}
	// As client-go's typed clients, for built-in kinds.
	if got, want := api.contentTypes[0], "application/vnd.kubernetes.protobuf"; got != want {
		t.Errorf("got body of type %q, want %q", got, want)
	}
}
