package ingress

import (
	"fmt"
	"slices"
	"strings"
)

// goSuite is a TLS 1.2 cipher suite that Go's crypto/tls offers and counts
// secure (tls.CipherSuites), by its OpenSSL name, with what OpenSSL's
// cipher-list keywords match it by.
type goSuite struct {
	openSSL, name string
	// auth is "aRSA" or "aECDSA"; enc "AES128", "AES256" or "CHACHA20";
	// gcm says AES in GCM mode; sha1 says HMAC-SHA1 (CBC suites), the
	// others are AEAD.
	auth, enc string
	gcm, sha1 bool
}

// goSuites are Go's secure TLS 1.2 suites. All use ECDHE key exchange.
var goSuites = []goSuite{
	{"ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "aECDSA", "AES128", true, false},
	{"ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "aECDSA", "AES256", true, false},
	{"ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "aECDSA", "CHACHA20", false, false},
	{"ECDHE-ECDSA-AES128-SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "aECDSA", "AES128", false, true},
	{"ECDHE-ECDSA-AES256-SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "aECDSA", "AES256", false, true},
	{"ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "aRSA", "AES128", true, false},
	{"ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "aRSA", "AES256", true, false},
	{"ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "aRSA", "CHACHA20", false, false},
	{"ECDHE-RSA-AES128-SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "aRSA", "AES128", false, true},
	{"ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "aRSA", "AES256", false, true},
}

// insecureSuites are the OpenSSL names of the suites Go has but counts
// insecure (tls.InsecureCipherSuites): named, they are refused.
var insecureSuites = []string{
	"AES128-SHA", "AES256-SHA", "AES128-SHA256", "AES128-GCM-SHA256", "AES256-GCM-SHA384",
	"DES-CBC3-SHA", "ECDHE-RSA-DES-CBC3-SHA", "RC4-SHA", "ECDHE-RSA-RC4-SHA", "ECDHE-ECDSA-RC4-SHA",
	"ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA256",
}

// excludable are the OpenSSL keywords that a list may exclude (!K or
// -K): what each matches among goSuites is exact. Keywords for algorithms
// Go does not have match none of them.
var excludable = map[string]func(s *goSuite) bool{
	"ECDHE":    all,
	"EECDH":    all,
	"kECDHE":   all,
	"kEECDH":   all,
	"aRSA":     func(s *goSuite) bool { return s.auth == "aRSA" },
	"aECDSA":   func(s *goSuite) bool { return s.auth == "aECDSA" },
	"ECDSA":    func(s *goSuite) bool { return s.auth == "aECDSA" },
	"AES":      func(s *goSuite) bool { return s.enc != "CHACHA20" },
	"AES128":   func(s *goSuite) bool { return s.enc == "AES128" },
	"AES256":   func(s *goSuite) bool { return s.enc == "AES256" },
	"AESGCM":   func(s *goSuite) bool { return s.gcm },
	"CHACHA20": func(s *goSuite) bool { return s.enc == "CHACHA20" },
	"SHA1":     func(s *goSuite) bool { return s.sha1 },
	"SHA":      func(s *goSuite) bool { return s.sha1 },
	"AEAD":     func(s *goSuite) bool { return !s.sha1 },
}

func init() {
	for _, k := range []string{
		"aNULL", "eNULL", "NULL", "EXPORT", "EXP", "LOW", "MD5", "RC4", "DES", "3DES", "IDEA", "SEED",
		"CAMELLIA", "CAMELLIA128", "CAMELLIA256", "ARIA", "PSK", "aPSK", "kPSK", "SRP", "kSRP", "DSS", "aDSS",
		"RSA", "kRSA", "ADH", "AECDH", "DH", "DHE", "EDH", "kDHE", "kEDH",
	} {
		excludable[k] = none
	}
}

func all(*goSuite) bool  { return true }
func none(*goSuite) bool { return false }

// goCipherSuites maps an OpenSSL cipher list to Go's TLS 1.2 suite names,
// sorted (Go orders the suites it offers itself). It honours what maps
// exactly and refuses the rest: elements separated by ':', each the
// OpenSSL name of one of Go's secure suites, or an exclusion (!K removes
// for good, -K until named again) of a suite or of a keyword whose suites
// are known; "DEFAULT", first, starts from all of Go's secure suites.
// Keywords that select suites (HIGH, ALL, combinations such as
// ECDHE+AESGCM) depend on OpenSSL's own tables and are refused, as are
// insecure and TLS 1.3 suites (which Go does not let one configure).
func goCipherSuites(list string) ([]string, error) {
	if err := checkCipherList(list); err != nil {
		return nil, err
	}
	on := make(map[string]bool)
	banned := make(map[string]bool)
	for i, el := range strings.Split(list, ":") {
		switch {
		case el == "":
			continue
		case el == "DEFAULT" && i == 0:
			for _, s := range goSuites {
				on[s.openSSL] = true
			}
			continue
		case el[0] == '!' || el[0] == '-':
			match, err := excluded(el[1:])
			if err != nil {
				return nil, err
			}
			for _, s := range goSuites {
				if match(&s) {
					delete(on, s.openSSL)
					if el[0] == '!' {
						banned[s.openSSL] = true
					}
				}
			}
			continue
		}
		s, err := suite(el)
		if err != nil {
			return nil, err
		}
		if !banned[s.openSSL] {
			on[s.openSSL] = true
		}
	}
	var names []string
	for _, s := range goSuites {
		if on[s.openSSL] {
			names = append(names, s.name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s leaves no cipher suite", quoted(list))
	}
	slices.Sort(names)
	return names, nil
}

// suite returns the suite an element of a cipher list names.
func suite(el string) (*goSuite, error) {
	for i := range goSuites {
		if goSuites[i].openSSL == el {
			return &goSuites[i], nil
		}
	}
	switch {
	case slices.Contains(insecureSuites, el):
		return nil, fmt.Errorf("cipher %s is insecure (no forward secrecy or a broken cipher) and not offered", el)
	case strings.HasPrefix(el, "TLS_"):
		return nil, fmt.Errorf("cipher %s: TLS 1.3 suites are not configurable (Go offers all of them)", el)
	case strings.Contains(el, "+"):
		return nil, fmt.Errorf("cipher %s: combinations and reordering are not supported; list suites by name", quoted(el))
	case strings.HasPrefix(el, "@"):
		return nil, fmt.Errorf("%s is not supported (Go orders the suites itself)", quoted(el))
	}
	return nil, fmt.Errorf("cipher %s is not one of the suites supported (%s); keywords such as HIGH are not supported", quoted(el), suiteNames())
}

// excluded returns what an exclusion of k removes.
func excluded(k string) (func(*goSuite) bool, error) {
	if f := excludable[k]; f != nil {
		return f, nil
	}
	for i := range goSuites {
		if goSuites[i].openSSL == k {
			name := k
			return func(s *goSuite) bool { return s.openSSL == name }, nil
		}
	}
	if slices.Contains(insecureSuites, k) {
		return none, nil // never offered
	}
	return nil, fmt.Errorf("cannot exclude %s: not a suite or keyword whose suites are known", quoted(k))
}

// suiteNames lists the OpenSSL names of goSuites.
func suiteNames() string {
	names := make([]string, len(goSuites))
	for i, s := range goSuites {
		names[i] = s.openSSL
	}
	return strings.Join(names, ", ")
}
