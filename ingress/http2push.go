package ingress

// http2PushFamily is http2-push-preload, accepted with no effect:
// browsers no longer take HTTP/2 server push (Chrome 106 and Firefox 132
// dropped it) and nginx 1.25.1 removed http2_push_preload.
var http2PushFamily = family{
	annotations: []annotationSpec{
		{name: "http2-push-preload", fails: ignoreIngress, doc: "Accepted (\"true\" or \"false\") and has no effect: the backend's Link: rel=preload headers reach the client as they are, and nothing is pushed.",
			differs: "ingress-nginx turns them into HTTP/2 pushes, which browsers have stopped accepting and nginx 1.25.1 removed."},
	},
	parse: func(r *reader, c *ingressConfig) {
		r.parseBool("http2-push-preload")
	},
}
