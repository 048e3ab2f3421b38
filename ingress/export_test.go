package ingress

import "flag"

// Update makes tests rewrite their goldens (and the README's annotations
// table) instead of comparing with them.
var Update = flag.Bool("update", false, "rewrite the golden files and the README's annotations table")

// Counts returns how many translations were whole, and how many steps.
func (in *Incremental) Counts() (fulls, steps int) { return in.fulls, in.steps }
