package ingress

import "flag"

// Update makes tests rewrite their goldens (and the README's annotations
// table) instead of comparing with them.
var Update = flag.Bool("update", false, "rewrite the golden files and the README's annotations table")
