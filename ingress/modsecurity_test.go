package ingress

import (
	"strings"
	"testing"
)

func TestModSecurityAnnotations(t *testing.T) {
	const blocking = "SecRuleEngine On\nSecRule REQUEST_URI \"@streq /admin\" \"id:1,phase:1,deny,status:403\""
	runAnnotationCases(t, []annotationCase{
		{name: "enabled: reported, serves", annotations: nginx("enable-modsecurity", "true"), wantProblem: "not supported; ignored"},
		{name: "core rules: reported, serves", annotations: nginx("enable-owasp-core-rules", "true"), wantProblem: "not supported; ignored"},
		{name: "transaction id: reported, serves", annotations: nginx("modsecurity-transaction-id", "$request_id"), wantProblem: "not supported; ignored"},
		{name: "snippet that only detects", annotations: nginx("modsecurity-snippet", "SecRuleEngine DetectionOnly\nSecAuditEngine On"), wantProblem: "not supported; ignored"},
		{name: "snippet that blocks fails closed", annotations: nginx("modsecurity-snippet", blocking), wantProblem: "SecRuleEngine On", wantFail: "denied"},
		{name: "directive case and quotes", annotations: nginx("modsecurity-snippet", `  secruleengine "on"`), wantProblem: "SecRuleEngine On", wantFail: "denied"},
		{name: "commented out", annotations: nginx("modsecurity-snippet", "# SecRuleEngine On"), wantProblem: "not supported; ignored"},
	})
}

// TestModSecurityTurnedOff: a blocking snippet on an Ingress that turns
// ModSecurity off blocks nothing in ingress-nginx either, so it serves.
func TestModSecurityTurnedOff(t *testing.T) {
	for _, enable := range []string{"false", "true"} {
		annotations := nginx("enable-modsecurity", enable)
		annotations[nginxPrefix+"modsecurity-snippet"] = "SecRuleEngine On"
		c, problems := readFor(t, annotations, Options{})
		if len(problems) != 2 {
			t.Fatalf("enable-modsecurity %s: got problems %v, want two", enable, problems)
		}
		denied := c.denied != ""
		if want := enable == "true"; denied != want {
			t.Errorf("enable-modsecurity %s: denied = %v, want %v (problems %v)", enable, denied, want, problems)
		}
		if !strings.Contains(problems[0].Reason+problems[1].Reason, "not supported; ignored") {
			t.Errorf("enable-modsecurity %s: got problems %v, want one that says it is ignored", enable, problems)
		}
	}
}
